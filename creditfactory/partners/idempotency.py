"""``Idempotency-Key`` for partner POSTs that create something.

Semantics (documented for partners in docs/api.md):

* The key is scoped to the partner. It stands for one request: method, path and canonical body
  are fingerprinted; the same key with another fingerprint (another body or endpoint) → 422.
* First request: the key is inserted as *in progress* in its own, immediately committed
  transaction, so a concurrent duplicate finds it and gets 409. The view then runs inside one
  transaction together with storing its response, so "created" and "response stored" commit
  together: a crash cannot leave an object created without a replayable response.
* Only successful (2xx) responses are stored and replayed (same status and body, header
  ``Idempotent-Replayed: true``). An error (4xx, 5xx, exception) creates nothing and releases
  the key, so a corrected retry may reuse it.
* A key left *in progress* by a crashed process is taken over after
  ``IDEMPOTENCY_LOCK_TIMEOUT_SECONDS``. Keys are kept ``IDEMPOTENCY_RETENTION_HOURS`` (≥ 24 h,
  default 48 h), then purged by the ``core.idempotency_purge`` beat task.
* The key is optional on create-POSTs (strongly encouraged; ``IDEMPOTENCY_KEY_REQUIRED=true``
  makes it mandatory) and mandatory where the view says ``@idempotent(required=True)`` —
  every money-moving POST.

Usage on an APIView method::

    @extend_schema(...)
    @idempotent
    def post(self, request): ...

``@idempotent`` also documents the header in the OpenAPI schema.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from .auth import request_partner
from .models import IdempotencyKey
from .services.idempotency import idempotency_claim, idempotency_complete, idempotency_release

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Printable ASCII without spaces, up to 255 characters: UUIDs, ULIDs, "order-123-attempt".
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")

_HEADER_DESCRIPTION = (
    "Makes the POST safe to retry. Send a unique value (e.g. a UUID) per operation, 1–255 printable ASCII "
    "characters. A retry with the same key and body returns the first response (header "
    "`Idempotent-Replayed: true`); the same key with another body answers 422; a retry while the first "
    "is still running answers 409. Errors are not stored: after a 4xx/5xx the key may be reused. "
    "Keys are kept at least 24 hours."
)
IDEMPOTENCY_HEADER = OpenApiParameter(
    name=HEADER, type=str, location=OpenApiParameter.HEADER, required=False, description=_HEADER_DESCRIPTION
)
IDEMPOTENCY_HEADER_REQUIRED = OpenApiParameter(
    name=HEADER, type=str, location=OpenApiParameter.HEADER, required=True, description=_HEADER_DESCRIPTION
)


# --- fingerprint ----------------------------------------------------------------------------------
def _file_digest(upload: UploadedFile) -> dict:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return {"name": upload.name, "size": upload.size, "sha256": digest.hexdigest()}


def canonical_body(request) -> bytes:
    """The parsed body as canonical JSON (sorted keys, no whitespace), so the same data sent
    with other formatting, key order or multipart boundary has the same fingerprint."""
    data = request.data
    if hasattr(data, "lists"):  # QueryDict / MultiValueDict from a form or multipart body
        data = {
            name: [_file_digest(v) if isinstance(v, UploadedFile) else v for v in values]
            for name, values in data.lists()
        }
        for name, values in request.FILES.lists():
            data[name] = [_file_digest(v) for v in values]
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=JSONEncoder).encode()


def request_fingerprint(request) -> str:
    head = f"{request.method.upper()}\n{request._request.get_full_path()}\n".encode()
    return hashlib.sha256(head + canonical_body(request)).hexdigest()


def replay_response(record: IdempotencyKey) -> Response:
    data = json.loads(record.response_body) if record.response_body else None
    return Response(data, status=record.response_status, headers={**record.response_headers, REPLAYED_HEADER: "true"})


# --- the decorator --------------------------------------------------------------------------------
def _header_key(request, *, required: bool) -> str | None:
    key = request.headers.get(HEADER)
    if key is None:
        if required:
            raise exceptions.ValidationError(
                {HEADER: [_("This header is required: send a unique value per operation, e.g. a UUID.")]}
            )
        return None
    if not _KEY_PATTERN.match(key):
        raise exceptions.ValidationError({HEADER: [_("Use 1 to 255 printable ASCII characters without spaces.")]})
    return key


def idempotent(view_method=None, *, required: bool | None = None):
    """Make an APIView handler (``post``) idempotent per ``Idempotency-Key``. ``required=None``
    follows ``IDEMPOTENCY_KEY_REQUIRED``; money-moving endpoints pass ``required=True``.
    Callers that are not partners (staff sessions) run the view unchanged."""

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self, request, *args, **kwargs):
            partner = request_partner(request)
            if partner is None:
                return method(self, request, *args, **kwargs)
            must = settings.IDEMPOTENCY_KEY_REQUIRED if required is None else required
            key = _header_key(request, required=must)
            if key is None:
                return method(self, request, *args, **kwargs)

            match = request.resolver_match
            endpoint = (match.view_name if match else "") or request.path
            record, is_new = idempotency_claim(
                partner=partner, key=key, endpoint=endpoint, fingerprint=request_fingerprint(request)
            )
            if not is_new:
                return replay_response(record)
            try:
                with transaction.atomic():
                    response = method(self, request, *args, **kwargs)
                    if 200 <= response.status_code < 300:
                        idempotency_complete(record=record, response=response)
                    else:
                        idempotency_release(record=record)
            except BaseException:
                try:
                    idempotency_release(record=record)
                except Exception:  # never hide the original error behind a cleanup failure
                    logger.exception("Could not release idempotency key %s", record.pk)
                raise
            return response

        schema_parameter = IDEMPOTENCY_HEADER_REQUIRED if required else IDEMPOTENCY_HEADER
        return extend_schema(parameters=[schema_parameter])(wrapper)

    if view_method is not None:
        return decorator(view_method)
    return decorator
