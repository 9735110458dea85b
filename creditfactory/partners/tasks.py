"""Celery tasks of the partner platform: webhook delivery and its sweep, the idempotency-key purge.

Their names keep the ``core.`` prefix they were registered under before the platform became an
app: beat schedules stored in the database and messages already queued refer to them.
"""

from celery import shared_task
from django.utils import timezone

from .models import DeliveryStatus
from .services.delivery import webhook_deliveries_due, webhook_delivery_attempt
from .services.idempotency import idempotency_purge as purge_idempotency_keys


@shared_task(name="core.webhook_deliver", bind=True, acks_late=True, ignore_result=True)
def webhook_deliver(self, delivery_id: int) -> str | None:
    """One delivery attempt. On failure the next one is scheduled with a countdown; the beat
    sweep (``core.webhook_deliver_due``) is the safety net for lost tasks and, with eager
    Celery, the only retry driver."""
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
    due = webhook_deliveries_due()
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)


@shared_task(name="core.idempotency_purge", acks_late=True, ignore_result=True)
def idempotency_purge() -> int:
    """Beat: delete idempotency keys older than IDEMPOTENCY_RETENTION_HOURS."""
    return purge_idempotency_keys()
