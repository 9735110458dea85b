"""Idempotency keys: take one for a request, store its response, release or purge it.

The semantics partners see, and the decorator that applies them to a view, are in
``creditfactory.partners.idempotency``.
"""

from __future__ import annotations

import hmac
import json
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.utils.encoders import JSONEncoder

from creditfactory.core.api.errors import Conflict, UnprocessableEntity

from .. import fastpath
from ..locks import idempotency_key_take_over
from ..models import IdempotencyKey, IdempotencyStatus

# Response headers worth replaying besides the body.
STORED_HEADERS = ("Location",)


def idempotency_claim(*, partner, key: str, endpoint: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """Take ``key`` for a new request → ``(record, True)``; or find its completed twin →
    ``(record, False)`` to replay. Raises ``UnprocessableEntity`` (other request under the same
    key) or ``Conflict`` (the first request is still running)."""
    for _attempt in range(3):
        now = timezone.now()
        try:
            # Committed before the view runs: on its own in autocommit (one statement), in a
            # savepoint when nested (tests).
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                record = fastpath.idempotency_key_insert(IdempotencyKey(
                    partner=partner, key=key, endpoint=endpoint, request_hash=fingerprint, locked_at=now
                ))
            return record, True
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(partner=partner, key=key).first()
        if existing is None:
            continue  # released by its request meanwhile: try to take it again
        if not hmac.compare_digest(existing.request_hash, fingerprint):
            raise UnprocessableEntity(
                _("This Idempotency-Key was already used for a different request."), code="idempotency_key_reused"
            )
        if existing.status == IdempotencyStatus.COMPLETED:
            return existing, False
        stale_before = now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS)
        if existing.locked_at <= stale_before:
            # The request holding it died; take over with a conditional update (one winner).
            if idempotency_key_take_over(record=existing, now=now):
                return existing, True
        raise Conflict(
            _("A request with this Idempotency-Key is still being processed; retry later."),
            code="idempotency_in_progress",
        )
    raise Conflict(_("This Idempotency-Key is busy; retry later."), code="idempotency_in_progress")


def idempotency_complete(*, record: IdempotencyKey, response) -> None:
    """Store a successful response. Call inside the transaction of the view's work."""
    body = "" if response.data is None else json.dumps(response.data, cls=JSONEncoder, ensure_ascii=False)
    headers = {name: response[name] for name in STORED_HEADERS if response.has_header(name)}
    record.status = IdempotencyStatus.COMPLETED
    record.response_status = response.status_code
    record.response_body = body
    record.response_headers = headers
    record.completed_at = timezone.now()
    fastpath.idempotency_key_complete(record)


def idempotency_release(*, record: IdempotencyKey) -> None:
    """Forget an unfinished key so a retry runs again."""
    IdempotencyKey.objects.filter(pk=record.pk, status=IdempotencyStatus.IN_PROGRESS).delete()


def idempotency_purge(*, now=None) -> int:
    """Delete keys older than ``IDEMPOTENCY_RETENTION_HOURS``; returns how many."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)
    deleted, _detail = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
