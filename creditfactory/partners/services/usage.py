"""Usage statistics (使用情况): calls per partner, day, endpoint, method and HTTP status."""

from __future__ import annotations

from django.utils import timezone

from .. import fastpath


def usage_record(*, partner_id: int, endpoint: str, method: str, status_code: int, day=None, count: int = 1) -> None:
    """Add ``count`` calls to the bucket, in one statement that concurrent requests cannot lose
    an increment of."""
    fastpath.api_usage_add(partner_id=partner_id, day=day or timezone.localdate(), endpoint=endpoint[:200],
                           method=method.upper()[:8], status_code=status_code, count=count)
