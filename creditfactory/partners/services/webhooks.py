"""Webhooks: the event catalogue, partner endpoints and the outbox.

``webhook_emit(partner=, event=, payload=)`` is called by domain services *inside their
transaction*: it writes the ``WebhookEvent`` and one ``WebhookDelivery`` per subscribed endpoint,
and enqueues delivery on commit. A rolled-back change therefore emits nothing, and a committed
one is never lost (the beat sweep re-enqueues anything due). The HTTP delivery itself is
``creditfactory.partners.services.delivery``.
"""

from __future__ import annotations

import ipaddress
import secrets
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from rest_framework.exceptions import ValidationError

from creditfactory.core.tasks import enqueue_on_commit

from .. import fastpath
from ..models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from ..tasks import webhook_deliver
from .delivery import address_allowed

# The catalogue: every event a partner can subscribe to. Emitting an unknown name is a bug.
EVENT_CATALOGUE: dict[str, str] = {
    "application.created": gettext_lazy("An application was received."),
    "application.decided": gettext_lazy("The automated assessment decided: approve, refer to review, or reject."),
    "application.approved": gettext_lazy("The application was approved (automatically or by the approver)."),
    "application.rejected": gettext_lazy("The application was rejected; customer-facing reasons included."),
    "application.returned": gettext_lazy("More documents are needed; the application waits for them."),
    "application.withdrawn": gettext_lazy("The application was withdrawn."),
    "signing.booked": gettext_lazy("A remote-signing slot was booked."),
    "signing.rescheduled": gettext_lazy("A remote-signing appointment was moved."),
    "signing.cancelled": gettext_lazy("A remote-signing appointment was cancelled."),
    "signing.completed": gettext_lazy("Remote signing took place; result included."),
    "signing.no_show": gettext_lazy("The applicant missed the remote-signing appointment."),
    "contract.ready": gettext_lazy("The contract is ready for the applicant to accept."),
    "contract.accepted": gettext_lazy("The applicant accepted the contract."),
    "line.granted": gettext_lazy("A credit line was granted."),
    "drawdown.approved": gettext_lazy("A drawdown passed its checks and review and goes to disbursement."),
    "drawdown.rejected": gettext_lazy("A drawdown was rejected; its reservation on the line was released."),
    "drawdown.cancelled": gettext_lazy("A drawdown was cancelled before disbursement."),
    "drawdown.disbursed": gettext_lazy("A drawdown was paid out to the borrower's account."),
    "drawdown.failed": gettext_lazy("A drawdown's disbursement failed; its reservation was released."),
    "loan.booked": gettext_lazy("A loan was booked for a disbursed drawdown."),
    "installment.overdue": gettext_lazy("An installment was not paid in full at the close of its due date."),
    "repayment.received": gettext_lazy("A repayment of a loan was posted; its allocation included."),
    "loan.paid_off": gettext_lazy("A loan was repaid in full and closed."),
    "collection.stage_changed": gettext_lazy("A loan's collection case was opened, moved to another bucket, or closed."),
    "line.changed": gettext_lazy("A change to a credit line was decided (applied or rejected), or the line expired."),
    "webhook.test": gettext_lazy("A test event sent on request."),
}

MAX_ENDPOINTS_PER_PARTNER = 20


# --- endpoints ------------------------------------------------------------------------------------
def validate_webhook_url(url: str) -> None:
    """Static checks at registration (no DNS): scheme, and no literal private address."""
    parts = urlsplit(url)
    allowed_schemes = ("https",) if settings.WEBHOOK_REQUIRE_HTTPS else ("https", "http")
    if parts.scheme not in allowed_schemes or not parts.hostname:
        raise ValidationError({"url": [_("Use an https:// URL.") if settings.WEBHOOK_REQUIRE_HTTPS
                                       else _("Use an http:// or https:// URL.")]})
    if settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        return
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        raise ValidationError({"url": [_("The URL must point to a public address.")]})
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address_allowed(str(literal)):
        raise ValidationError({"url": [_("The URL must point to a public address.")]})


def validate_events(events) -> list[str]:
    if not isinstance(events, list) or not events:
        raise ValidationError({"events": [_("Subscribe to at least one event.")]})
    unknown = [name for name in events if name not in EVENT_CATALOGUE]
    if unknown:
        raise ValidationError({"events": [_("Unknown events: %(names)s.") % {"names": ", ".join(map(str, unknown))}]})
    return sorted(set(events))


@transaction.atomic
def webhook_endpoint_create(
    *, partner, url: str, events: list[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint with its own secret. Returns ``(endpoint, secret)``: the secret is
    shown to the partner in this response only."""
    validate_webhook_url(url)
    events = validate_events(events)
    live = WebhookEndpoint.objects.filter(partner=partner, deleted_at__isnull=True).count()
    if live >= MAX_ENDPOINTS_PER_PARTNER:
        raise ValidationError(
            {"url": [_("At most %(n)d webhook endpoints per partner.") % {"n": MAX_ENDPOINTS_PER_PARTNER}]}
        )
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint.objects.create(
        partner=partner, url=url, events=events, description=description, secret=secret
    )
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint: hidden from the partner, kept for the delivery log; its pending
    deliveries are cancelled."""
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_active=False, deleted_at=now)
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, next_attempt_at=None
    )


def live_endpoints(partner):
    return WebhookEndpoint.objects.filter(partner=partner, deleted_at__isnull=True).order_by("created_at", "id")


# --- the outbox -----------------------------------------------------------------------------------
def webhook_emit(*, partner, event: str, payload: dict) -> WebhookEvent:
    """Record ``event`` for ``partner`` and queue it to every active endpoint subscribed to it.
    Call inside the transaction of the change being reported; delivery starts after commit."""
    if event not in EVENT_CATALOGUE:
        raise ValueError(f"Unknown webhook event {event!r}: add it to EVENT_CATALOGUE first.")
    # No savepoint of its own: it runs inside the change it reports, which fails with it.
    with transaction.atomic(savepoint=False):
        if fastpath.outbox_in_one_statement():
            record, delivery_ids = fastpath.webhook_event_insert(partner=partner, event=event, payload=payload)
        else:
            record = WebhookEvent.objects.create(partner=partner, event=event, payload=payload)
            now = timezone.now()
            # Filtered in Python: JSON "contains" is not available on SQLite, and a partner has few endpoints.
            subscribed = [e for e in live_endpoints(partner).filter(is_active=True) if event in e.events]
            deliveries = WebhookDelivery.objects.bulk_create(
                [WebhookDelivery(event=record, endpoint=endpoint, next_attempt_at=now) for endpoint in subscribed]
            )
            delivery_ids = [delivery.pk for delivery in deliveries]
        for delivery_id in delivery_ids:
            enqueue_on_commit(webhook_deliver, delivery_id)
    return record


@transaction.atomic
def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a ``webhook.test`` event to this one endpoint, subscribed to it or not, so a
    partner can check its receiver and signature code."""
    if endpoint.deleted_at is not None or not endpoint.is_active:
        raise ValidationError({"endpoint": [_("The endpoint is no longer active.")]})
    event = WebhookEvent.objects.create(
        partner=endpoint.partner, event="webhook.test", payload={"endpoint": endpoint.pk, "message": "ping"}
    )
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint, next_attempt_at=timezone.now())
    enqueue_on_commit(webhook_deliver, delivery.pk)
    return delivery


@transaction.atomic
def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send an event to the same endpoint again, as a new delivery (the old log stays)."""
    endpoint = delivery.endpoint
    if endpoint.deleted_at is not None or not endpoint.is_active:
        raise ValidationError({"endpoint": [_("The endpoint is no longer active.")]})
    again = WebhookDelivery.objects.create(
        event_id=delivery.event_id, endpoint=endpoint, redelivery_of=delivery, next_attempt_at=timezone.now()
    )
    enqueue_on_commit(webhook_deliver, again.pk)
    return again
