"""Every lock the servicing app takes, by name. Nothing else in servicing calls
``select_for_update`` or claims a balance with a conditional UPDATE: holds on a credit line,
funder quotas and the business date are taken here, so the order they are taken in can be read
in one place.

Order: the business date row first (the daily close and ``business_date --set`` hold it while
they run), then a credit line, then a funder's quota rows in funder id order.
"""

from __future__ import annotations

from servicing.models import BusinessDate

__all__ = ["business_date_lock"]


def business_date_lock(*, date, actor=None, reason: str = "") -> tuple[BusinessDate, bool]:
    """The business date row, locked for the rest of the transaction (created with ``date``
    when there is none yet). Returns ``(row, created)``."""
    return BusinessDate.objects.select_for_update().get_or_create(
        pk=1, defaults={"date": date, "changed_by": actor, "reason": reason})
