"""Webhooks: the event catalogue, partner endpoints, the outbox and its delivery.

* ``webhook_emit(partner=, event=, payload=)`` is called by domain services *inside their
  transaction*: it writes the ``WebhookEvent`` and one ``WebhookDelivery`` per subscribed
  endpoint, and enqueues delivery on commit. A rolled-back change therefore emits nothing, and
  a committed one is never lost (the beat sweep re-enqueues anything due).
* Delivery (``webhook_delivery_attempt``, run by the ``core.webhook_deliver`` task) POSTs the
  JSON envelope with ``X-CF-Event``, ``X-CF-Delivery``, ``X-CF-Timestamp`` and
  ``X-CF-Signature`` = hex HMAC-SHA256(secret, timestamp + "\\n" + body). A 2xx answer is
  success; anything else is retried after ``BASE × 2^(n-1)`` seconds (capped) until
  ``WEBHOOK_MAX_ATTEMPTS``. Every attempt is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from datetime import timedelta
from http.client import HTTPException
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _, gettext_lazy
from rest_framework.exceptions import ValidationError

from creditfactory.core.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEvent,
)
from creditfactory.core.pii import mask_text

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
    "webhook.test": gettext_lazy("A test event sent on request."),
}

MAX_ENDPOINTS_PER_PARTNER = 20
_EXCERPT_LENGTH = 500
USER_AGENT = "CreditFactory-Webhooks/1"


# --- endpoints ------------------------------------------------------------------------------------
def _address_allowed(address: str) -> bool:
    """Only globally routable unicast addresses: not private, loopback, link-local (cloud
    metadata), reserved or documentation ranges, and not the shared 100.64.0.0/10 space that
    some clouds use for their internal services."""
    ip = ipaddress.ip_address(address)
    if getattr(ip, "ipv4_mapped", None) is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


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
    if not _address_allowed(str(literal)):
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
    from creditfactory.core.tasks import enqueue_on_commit, webhook_deliver

    if event not in EVENT_CATALOGUE:
        raise ValueError(f"Unknown webhook event {event!r}: add it to EVENT_CATALOGUE first.")
    # No savepoint of its own: it runs inside the change it reports, which fails with it.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            record, delivery_ids = _emit_in_one_statement(partner=partner, event=event, payload=payload)
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


def _emit_in_one_statement(*, partner, event: str, payload: dict) -> tuple[WebhookEvent, list[int]]:
    """PostgreSQL: the event row and one delivery per subscribed live endpoint (in the endpoints'
    order, as ``live_endpoints``) in a single statement; every application writes two or three
    events, and the ORM's two statements (plus reading the endpoints) cost more than the rows."""
    quote = connection.ops.quote_name

    def column(model, name):
        return quote(model._meta.get_field(name).column)

    record = WebhookEvent(partner=partner, event=event, payload=payload, created_at=timezone.now())
    event_values = [record.uuid, partner.pk, event,
                    WebhookEvent._meta.get_field("payload").get_db_prep_save(payload, connection), record.created_at]
    E, D = WebhookEndpoint, WebhookDelivery
    delivery_columns = ("uuid", "event", "endpoint", "status", "attempts", "next_attempt_at", "last_status_code",
                        "last_error", "delivered_at", "redelivery_of", "created_at")
    sql = f"""
        WITH new_event AS (
            INSERT INTO {quote(WebhookEvent._meta.db_table)}
                ({", ".join(column(WebhookEvent, name) for name in ("uuid", "partner", "event", "payload", "created_at"))})
            VALUES (%s, %s, %s, %s, %s) RETURNING id
        ), new_deliveries AS (
            INSERT INTO {quote(D._meta.db_table)} ({", ".join(column(D, name) for name in delivery_columns)})
            SELECT gen_random_uuid(), new_event.id, e.{quote(E._meta.pk.column)}, %s, 0, %s, NULL, '', NULL, NULL, %s
            FROM new_event, {quote(E._meta.db_table)} e
            WHERE e.{column(E, "partner")} = %s AND e.{column(E, "deleted_at")} IS NULL AND e.{column(E, "is_active")}
                AND e.{column(E, "events")} ? %s
            ORDER BY e.{column(E, "created_at")}, e.{quote(E._meta.pk.column)}
            RETURNING id
        )
        SELECT (SELECT id FROM new_event), ARRAY(SELECT id FROM new_deliveries ORDER BY id)
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*event_values, DeliveryStatus.PENDING, record.created_at, record.created_at,
                             partner.pk, event])
        record.pk, delivery_ids = cursor.fetchone()
    record._state.adding, record._state.db = False, connection.alias
    return record, list(delivery_ids)


@transaction.atomic
def webhook_endpoint_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Send a ``webhook.test`` event to this one endpoint, subscribed to it or not, so a
    partner can check its receiver and signature code."""
    from creditfactory.core.tasks import enqueue_on_commit, webhook_deliver

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
    from creditfactory.core.tasks import enqueue_on_commit, webhook_deliver

    endpoint = delivery.endpoint
    if endpoint.deleted_at is not None or not endpoint.is_active:
        raise ValidationError({"endpoint": [_("The endpoint is no longer active.")]})
    again = WebhookDelivery.objects.create(
        event_id=delivery.event_id, endpoint=endpoint, redelivery_of=delivery, next_attempt_at=timezone.now()
    )
    enqueue_on_commit(webhook_deliver, again.pk)
    return again


def webhook_deliveries_due(*, now=None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- delivery -------------------------------------------------------------------------------------
def backoff_seconds(attempts: int) -> int:
    """Wait after the ``attempts``-th failed attempt: BASE × 2^(attempts-1), capped."""
    return min(settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempts - 1), settings.WEBHOOK_RETRY_MAX_SECONDS)


def envelope(event: WebhookEvent) -> bytes:
    """The delivered body; the same bytes on every attempt and redelivery of the event."""
    document = {
        "id": str(event.uuid),
        "event": event.event,
        "created_at": event.created_at,
        "partner": event.partner.code,
        "data": event.payload,
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_signature(secret: str, *, timestamp: str, body: bytes) -> str:
    """hex HMAC-SHA256(secret, timestamp + "\\n" + body): what receivers recompute."""
    return hmac.new(secret.encode(), timestamp.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect could lead into the lender's own network; it counts as a failed attempt.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _vetted_address(host: str, port: int) -> str:
    """Resolve ``host`` once and return the address to connect to. Unless private addresses are
    allowed, every address it resolves to must be public (a name that resolves to a public and a
    private address at once is refused too)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"{host} does not resolve")
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        for info in infos:
            if not _address_allowed(info[4][0]):
                raise PermissionError(f"{host} resolves to a non-public address")
    return infos[0][4][0]


def _pinned_create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
    """``socket.create_connection`` to the address that was checked: the name is resolved once,
    so it cannot resolve to a public address for the check and to a private one for the connect
    (DNS rebinding). TLS still verifies the certificate against the host name (SNI)."""
    host, port = address[0], address[1]
    return socket.create_connection((_vetted_address(host, port), port), timeout, source_address)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _pinned_create_connection


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _pinned_create_connection


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PinnedHTTPConnection, req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PinnedHTTPSConnection, req, context=self._context)


def _post(url: str, body: bytes, headers: dict) -> tuple[int | None, str, str]:
    """POST and return (status code or None, response excerpt, error). No proxy, no redirect,
    and the connection goes to the address that passed the public-address check."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect, _PinnedHTTPHandler,
                                         _PinnedHTTPSHandler)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, response.read(_EXCERPT_LENGTH).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as exc:
        excerpt = exc.read(_EXCERPT_LENGTH).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, excerpt, ""
    except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        if isinstance(reason, PermissionError):  # refused by the address check, not by the network
            return None, "", f"PermissionError: {reason}"[:500]
        return None, "", f"{type(exc).__name__}: {reason}"[:500]


def webhook_delivery_attempt(*, delivery_id: int, now=None) -> WebhookDelivery | None:
    """Make one attempt if the delivery is pending and due; returns it, or None if it was not
    due (or another worker holds it). No database lock is held during the HTTP call: the
    delivery is leased by moving ``next_attempt_at`` past the timeout."""
    now = now or timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("event__partner", "endpoint__partner").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if endpoint.deleted_at is not None or not endpoint.is_active:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.CANCELLED, None
        delivery.save(update_fields=["status", "next_attempt_at"])
        return delivery

    body = envelope(delivery.event)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-CF-Event": delivery.event.event,
        "X-CF-Delivery": str(delivery.uuid),
        "X-CF-Timestamp": timestamp,
        "X-CF-Signature": webhook_signature(endpoint.signing_secret, timestamp=timestamp, body=body),
    }
    started_at = timezone.now()
    clock = time.monotonic()
    status_code, excerpt, error = _post(endpoint.url, body, headers)
    duration_ms = int((time.monotonic() - clock) * 1000)

    number = delivery.attempts + 1
    succeeded = status_code is not None and 200 <= status_code < 300
    with transaction.atomic():
        WebhookDeliveryAttempt.objects.create(
            delivery=delivery, number=number, started_at=started_at, duration_ms=duration_ms,
            status_code=status_code, response_excerpt=mask_text(excerpt), error=error,
        )
        delivery.attempts = number
        delivery.last_status_code = status_code
        delivery.last_error = error or ("" if succeeded else f"HTTP {status_code}")
        if succeeded:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = DeliveryStatus.SUCCEEDED, now, None
        elif number >= settings.WEBHOOK_MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(number))
        delivery.save(update_fields=["attempts", "last_status_code", "last_error", "status", "delivered_at",
                                     "next_attempt_at"])
    return delivery
