"""Counting partner calls for the usage statistics (使用情况).

``PartnerUsageMiddleware`` counts every request that a partner key identified — including ones
then refused for a bad signature or the rate limit — under the URL *pattern*
(``api/v1/webhooks/<int:pk>``), never the raw path with ids. One upsert per request
(``services.usage.usage_record``): atomic in the database, so concurrent requests never lose an
increment.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from django.db import DatabaseError, connection, transaction

from .auth import USAGE_PARTNER_ATTRIBUTE
from .services.usage import usage_record

logger = logging.getLogger(__name__)


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
