"""Celery plumbing shared by every app: enqueue after commit, and a diagnostic ping task."""

from celery import shared_task
from django.db import connection, transaction


def enqueue_on_commit(task, *args, **kwargs):
    """Send ``task`` once the surrounding transaction commits (immediately if there is none),
    so a worker never sees a task for rows it cannot read yet."""
    options = kwargs.pop("_options", {})
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs, **options))


@shared_task(name="core.ping", acks_late=True)
def ping(token: str) -> dict:
    """Round-trip check for operators and the worker test: proves the worker reaches the database."""
    connection.ensure_connection()
    return {"token": token, "database": connection.settings_dict["NAME"], "db_ok": connection.is_usable()}


# Tasks of core sub-packages, imported so Celery's autodiscovery of ``creditfactory.core.tasks``
# registers them in the worker.
from .messaging.tasks import sms_deliver  # noqa: E402,F401
