"""Every lock the servicing app takes, by name. Nothing else in servicing calls
``select_for_update`` or claims a balance with a conditional UPDATE: holds on a credit line,
funder quotas and the business date are taken here, so the order they are taken in can be read
in one place.

Order: the business date row first (the daily close and ``business_date --set`` hold it while
they run), then a credit line, then a funder's quota rows in funder id order.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q

from servicing.models import BusinessDate, Disbursement, Funder, FunderQuotaDay

__all__ = ["business_date_lock", "disbursement_lock", "funder_quota_release", "funder_quota_take"]


def business_date_lock(*, date, actor=None, reason: str = "") -> tuple[BusinessDate, bool]:
    """The business date row, locked for the rest of the transaction (created with ``date``
    when there is none yet). Returns ``(row, created)``."""
    return BusinessDate.objects.select_for_update().get_or_create(
        pk=1, defaults={"date": date, "changed_by": actor, "reason": reason})


class _Refused(Exception):
    """Rolls back the savepoint of a quota take when one of its two statements is refused."""


def funder_quota_take(*, funder_id: int, day, amount: Decimal) -> bool:
    """Take ``amount`` of a funder's total quota and of its quota for business date ``day``:
    ``total_used += amount WHERE active AND total_used + amount <= total_quota`` and
    ``used += amount WHERE used + amount <= daily_quota`` on the day's row — both or neither
    (a savepoint). Empty quotas are unlimited. Returns False when refused (inactive funder or
    either quota short), changing nothing. The funder row is taken first, then its day row."""
    amount = Decimal(amount)
    try:
        with transaction.atomic():
            total = Funder.objects.filter(pk=funder_id, active=True).filter(
                Q(total_quota__isnull=True) | Q(total_used__lte=F("total_quota") - amount))
            if not total.update(total_used=F("total_used") + amount):
                raise _Refused
            # The funder row is locked by the UPDATE above: its daily quota cannot change under us.
            daily_quota = Funder.objects.filter(pk=funder_id).values_list("daily_quota", flat=True).get()
            FunderQuotaDay.objects.bulk_create([FunderQuotaDay(funder_id=funder_id, business_date=day)],
                                               ignore_conflicts=True)
            rows = FunderQuotaDay.objects.filter(funder_id=funder_id, business_date=day)
            if daily_quota is not None:
                rows = rows.filter(used__lte=daily_quota - amount)
            if not rows.update(used=F("used") + amount):
                raise _Refused
    except _Refused:
        return False
    return True


def funder_quota_release(*, funder_id: int, day, amount: Decimal) -> bool:
    """Give back what ``funder_quota_take`` took (a failed, cancelled or rejected drawdown).
    Returns False, changing nothing, when either counter holds less than ``amount``."""
    amount = Decimal(amount)
    try:
        with transaction.atomic():
            if not Funder.objects.filter(pk=funder_id, total_used__gte=amount).update(
                    total_used=F("total_used") - amount):
                raise _Refused
            if not FunderQuotaDay.objects.filter(funder_id=funder_id, business_date=day, used__gte=amount).update(
                    used=F("used") - amount):
                raise _Refused
    except _Refused:
        return False
    return True


def disbursement_lock(*, reference: str) -> Disbursement | None:
    """The disbursement with this reference, locked for the rest of the transaction (a callback
    and a status query confirming it at the same time are serialised); None when unknown."""
    return Disbursement.objects.select_for_update(of=("self",)).select_related("drawdown", "channel").filter(
        reference=reference).first()
