"""Delivering webhooks over HTTP (run by the ``core.webhook_deliver`` task).

``webhook_delivery_attempt`` POSTs the JSON envelope with ``X-CF-Event``, ``X-CF-Delivery``,
``X-CF-Timestamp`` and ``X-CF-Signature`` = hex HMAC-SHA256(secret, timestamp + "\\n" + body).
A 2xx answer is success; anything else is retried after ``BASE × 2^(n-1)`` seconds (capped)
until ``WEBHOOK_MAX_ATTEMPTS``. Every attempt is logged. Connections go only to globally
routable addresses, to the very address that was checked (no DNS rebinding), with no proxy and
no redirect.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import time
import urllib.error
import urllib.request
from datetime import timedelta
from http.client import HTTPException

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from creditfactory.core.pii import mask_text

from ..locks import webhook_delivery_lease
from ..models import DeliveryStatus, WebhookDelivery, WebhookDeliveryAttempt, WebhookEvent

_EXCERPT_LENGTH = 500
USER_AGENT = "CreditFactory-Webhooks/1"


def address_allowed(address: str) -> bool:
    """Only globally routable unicast addresses: not private, loopback, link-local (cloud
    metadata), reserved or documentation ranges, and not the shared 100.64.0.0/10 space that
    some clouds use for their internal services."""
    ip = ipaddress.ip_address(address)
    if getattr(ip, "ipv4_mapped", None) is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def webhook_deliveries_due(*, now=None, limit: int = 500) -> list[int]:
    """Ids of the pending deliveries whose attempt is due, oldest first (the beat sweep's list)."""
    now = now or timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


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
            if not address_allowed(info[4][0]):
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
    if not webhook_delivery_lease(delivery_id=delivery_id, now=now, until=lease):
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
