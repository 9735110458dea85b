"""The business date (营业日): read it with ``business_date()``, move it with
``business_date_set`` (the ``business_date`` command, tests, the daily close)."""

import datetime

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from servicing.fastpath import business_date_value
from servicing.locks import business_date_lock
from servicing.models import BusinessDate, JournalEntry

__all__ = ["BusinessDateRefused", "business_date", "business_date_set"]


class BusinessDateRefused(Exception):
    """The date cannot be set (it would move behind an existing posting)."""


def business_date() -> datetime.date:
    """The current business date; until one is set, today in Asia/Shanghai (the first read
    stores it, so every later read agrees even across midnight)."""
    if connection.vendor == "postgresql":
        day = business_date_value()  # one prebuilt statement
        if day is not None:
            return day
    else:
        row = BusinessDate.objects.filter(pk=1).only("date").first()
        if row is not None:
            return row.date
    BusinessDate.objects.get_or_create(pk=1, defaults={"date": timezone.localdate(), "reason": "initial"})
    return BusinessDate.objects.get(pk=1).date


@transaction.atomic
def business_date_set(*, date: datetime.date, actor=None, reason: str = "") -> BusinessDate:
    """Set the business date. Refused when a journal entry is dated after ``date``: value dates
    never run backwards."""
    latest = JournalEntry.objects.order_by("-business_date").values_list("business_date", flat=True).first()
    if latest is not None and date < latest:
        raise BusinessDateRefused(
            _("The business date cannot move to %(date)s: a posting is dated %(latest)s.")
            % {"date": date.isoformat(), "latest": latest.isoformat()})
    row, created = business_date_lock(date=date, actor=actor if getattr(actor, "pk", None) else None,
                                      reason=reason)
    if not created:
        row.date, row.changed_by, row.reason = date, actor if getattr(actor, "pk", None) else None, reason
        row.save(update_fields=["date", "changed_by", "reason", "changed_at"])
    return row
