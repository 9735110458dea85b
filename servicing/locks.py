"""Every lock the servicing app takes, by name. Nothing else in servicing calls
``select_for_update`` or claims a balance with a conditional UPDATE: holds on a credit line,
funder quotas and the business date are taken here, so the order they are taken in can be read
in one place.

Order: the business date row first (the daily close and ``business_date --set`` hold it while
they run), then a credit line, then a funder's quota rows in funder id order.
"""

from __future__ import annotations

from django.db.models import F, Q
from django.db.models.functions import Now

from servicing.models import BusinessDate, CreditLine, CreditLineChange, CreditLineStatus

__all__ = ["business_date_lock", "credit_line_change_lock", "credit_line_lock", "line_limit_set"]


def business_date_lock(*, date, actor=None, reason: str = "") -> tuple[BusinessDate, bool]:
    """The business date row, locked for the rest of the transaction (created with ``date``
    when there is none yet). Returns ``(row, created)``."""
    return BusinessDate.objects.select_for_update().get_or_create(
        pk=1, defaults={"date": date, "changed_by": actor, "reason": reason})


# --- credit lines ---------------------------------------------------------------------------------


def credit_line_lock(*, line_id: int) -> CreditLine:
    """The credit line's row, locked for the rest of the transaction (a status change or a
    change request being decided on it)."""
    return CreditLine.objects.select_for_update().get(pk=line_id)


def credit_line_change_lock(*, change_id: int) -> CreditLineChange:
    """A change request's row (alone), locked: one decision at a time."""
    return CreditLineChange.objects.select_for_update(of=("self",)).select_related("credit_line").get(pk=change_id)


def line_limit_set(*, line_id: int, new_limit) -> bool:
    """Set the line's limit to ``new_limit`` if what is drawn and held still fits under it and the
    line is active or frozen — one conditional UPDATE, so a drawdown holding at the same moment
    either fits under the new limit or is refused. False (nothing changed) otherwise."""
    return bool(CreditLine.objects.filter(
        Q(pk=line_id), Q(status__in=[CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN]),
        Q(used__lte=new_limit - F("held")),
    ).update(limit=new_limit, updated_at=Now()))
