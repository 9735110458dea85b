"""Usage statistics (使用情况): calls per partner, day, endpoint, method and HTTP status.

``PartnerUsageMiddleware`` counts every request that a partner key identified — including ones
then refused for a bad signature or the rate limit — under the URL *pattern*
(``api/v1/webhooks/<int:pk>``), never the raw path with ids. One upsert per request:
``INSERT … ON CONFLICT DO UPDATE SET count = count + 1`` is atomic in the database, so
concurrent requests never lose an increment.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# Set on the Django request by PartnerKeyAuthentication once a key names an active partner.
USAGE_PARTNER_ATTRIBUTE = "api_usage_partner_id"


def usage_record(*, partner_id: int, endpoint: str, method: str, status_code: int, day=None, count: int = 1) -> None:
    """Add ``count`` calls to the bucket (one statement; PostgreSQL and SQLite ≥ 3.24)."""
    from creditfactory.core.models import ApiUsage  # this module is imported with DRF's settings

    table = connection.ops.quote_name(ApiUsage._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(name) for name in ("partner_id", "day", "endpoint", "method", "status_code", "count")
    )
    conflict = ", ".join(
        connection.ops.quote_name(name) for name in ("partner_id", "day", "endpoint", "method", "status_code")
    )
    counter = connection.ops.quote_name("count")
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s) "
        f"ON CONFLICT ({conflict}) DO UPDATE SET {counter} = {table}.{counter} + EXCLUDED.{counter}"
    )
    params = [partner_id, day or timezone.localdate(), endpoint[:200], method.upper()[:8], status_code, count]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def endpoint_label(request) -> str:
    """The route pattern of the request (no ids), or the path when it did not resolve."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.route:
        return match.route
    return request.path


class PartnerUsageMiddleware:
    """Counts partner calls after the response is ready. A failure to count is logged and never
    changes the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        partner_id = getattr(request, USAGE_PARTNER_ATTRIBUTE, None)
        if partner_id is not None:
            try:
                # One statement: autocommitted on its own; in a savepoint inside a transaction, so
                # a failure to count never breaks it.
                with transaction.atomic() if connection.in_atomic_block else nullcontext():
                    usage_record(
                        partner_id=partner_id,
                        endpoint=endpoint_label(request),
                        method=request.method,
                        status_code=response.status_code,
                    )
            except DatabaseError:
                logger.exception("Could not record API usage for partner %s", partner_id)
        return response
