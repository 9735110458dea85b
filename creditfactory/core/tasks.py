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


# --- Partner platform: webhooks and idempotency keys ---------------------------------------------
# Services are imported inside the tasks: they import this module for enqueue_on_commit.

@shared_task(name="core.webhook_deliver", bind=True, acks_late=True, ignore_result=True)
def webhook_deliver(self, delivery_id: int) -> str | None:
    """One delivery attempt. On failure the next one is scheduled with a countdown; the beat
    sweep (``core.webhook_deliver_due``) is the safety net for lost tasks and, with eager
    Celery, the only retry driver."""
    from django.utils import timezone

    from creditfactory.core.api.webhooks import webhook_delivery_attempt
    from creditfactory.core.models import DeliveryStatus

    delivery = webhook_delivery_attempt(delivery_id=delivery_id)
    if delivery is None:
        return None
    if delivery.status == DeliveryStatus.PENDING and not self.app.conf.task_always_eager:
        countdown = max(1, int((delivery.next_attempt_at - timezone.now()).total_seconds()))
        # The retry stays on the queue the attempt came from.
        queue = (self.request.delivery_info or {}).get("routing_key")
        self.apply_async(args=[delivery_id], countdown=countdown, **({"queue": queue} if queue else {}))
    return delivery.status


@shared_task(name="core.webhook_deliver_due", acks_late=True, ignore_result=True)
def webhook_deliver_due() -> int:
    """Beat: enqueue every pending delivery whose attempt is due. A delivery taken by two
    workers is attempted once (the attempt leases it with a conditional UPDATE)."""
    from creditfactory.core.api.webhooks import webhook_deliveries_due

    due = webhook_deliveries_due()
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)


@shared_task(name="core.idempotency_purge", acks_late=True, ignore_result=True)
def idempotency_purge() -> int:
    """Beat: delete idempotency keys older than IDEMPOTENCY_RETENTION_HOURS."""
    from creditfactory.core.api.idempotency import idempotency_purge as purge

    return purge()
