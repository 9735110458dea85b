"""Locks of the partner platform's records: every ``select_for_update`` of the app, and the
conditional UPDATEs that act as locks (a lease, a take-over), are here by name.

Row locks must run inside a transaction and are held until it ends; the conditional UPDATEs are
one statement each and return whether this caller won.
"""

from __future__ import annotations

from datetime import datetime

from .models import DeliveryStatus, IdempotencyKey, IdempotencyStatus, Partner, PartnerApiKey, WebhookDelivery


def partner_lock(pk) -> Partner:
    """The partner, locked (secret rotations one at a time)."""
    return Partner.objects.select_for_update().get(pk=pk)


def partner_api_key_lock(pk) -> PartnerApiKey:
    """The API key, locked (revocations one at a time)."""
    return PartnerApiKey.objects.select_for_update().get(pk=pk)


def webhook_delivery_lease(*, delivery_id: int, now: datetime, until: datetime) -> bool:
    """Take a pending delivery that is due by moving ``next_attempt_at`` to ``until``: no row lock
    is held during the HTTP call, and the sweep does not hand the delivery to another worker
    before the lease runs out. True for the one caller that took it."""
    return bool(
        WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .update(next_attempt_at=until)
    )


def idempotency_key_take_over(*, record: IdempotencyKey, now: datetime) -> bool:
    """Take over a key left *in progress* by a request that died: one winner, the one whose
    UPDATE still finds the ``locked_at`` it read. Sets ``record.locked_at`` when it wins."""
    taken = IdempotencyKey.objects.filter(
        pk=record.pk, status=IdempotencyStatus.IN_PROGRESS, locked_at=record.locked_at
    ).update(locked_at=now)
    if taken:
        record.locked_at = now
    return bool(taken)
