"""Celery plumbing shared by every app: enqueue after commit, run a follow-up task in the worker
after commit, and a diagnostic ping task."""

import logging

from celery import current_task, shared_task
from django.db import connection, transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args, **kwargs):
    """Send ``task`` once the surrounding transaction commits (immediately if there is none),
    so a worker never sees a task for rows it cannot read yet."""
    options = kwargs.pop("_options", {})
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs, **options))


def enqueue_batches_on_commit(task, items: list, *args, size: int) -> None:
    """Send ``task(batch, *args)`` for each batch of ``size`` items once the surrounding
    transaction commits: one broker message per batch, not per item (a publish costs ~0.7 ms of
    CPU), for tasks that work through their batch item by item."""
    size = max(size, 1)
    for start in range(0, len(items), size):
        enqueue_on_commit(task, items[start:start + size], *args)


def in_worker_task() -> bool:
    """Whether this code runs inside a task executed by a Celery worker (not eager, not a web
    request, not a management command)."""
    task = current_task._get_current_object()
    if task is None:
        return False
    request = task.request
    return not request.is_eager and not request.called_directly


def follow_up_on_commit(task, *args, **kwargs):
    """Run ``task`` once the surrounding transaction commits (immediately if there is none): in a
    Celery worker's task, right there in the same process (a chain of steps without a broker
    round trip and a task's handling each); anywhere else — a web request, eager Celery — as
    ``enqueue_on_commit``. ``task`` must be safe to run again, as any acks-late task: should it
    raise in line, it is enqueued to run again on a worker; a worker killed after the commit
    loses it as it loses an unsent message, so the caller's sweep must cover that (as it covers
    a lost message)."""
    if not in_worker_task():
        enqueue_on_commit(task, *args, **kwargs)
        return

    def run():
        try:
            task(*args, **kwargs)
        except Exception:  # noqa: BLE001 - handed to a worker to run again
            logger.exception("follow-up task %s failed in line; enqueued", task.name)
            task.apply_async(args=args, kwargs=kwargs)

    transaction.on_commit(run)


@shared_task(name="core.ping", acks_late=True)
def ping(token: str) -> dict:
    """Round-trip check for operators and the worker test: proves the worker reaches the database."""
    connection.ensure_connection()
    return {"token": token, "database": connection.settings_dict["NAME"], "db_ok": connection.is_usable()}


# Tasks of core sub-packages, imported so Celery's autodiscovery of ``creditfactory.core.tasks``
# registers them in the worker.
from .messaging.tasks import sms_deliver, sms_deliver_batch, voice_deliver  # noqa: E402,F401
