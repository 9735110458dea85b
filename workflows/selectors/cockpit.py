"""The mobile cockpit (移动驾驶舱): a manager's key figures of a day with their change from the day
before and their trend over two weeks, and the alerts that need them now — tasks past their SLA,
funder quota near exhaustion, the overdue rate above its threshold (settings
``COCKPIT_QUOTA_ALERT_PERCENT``, ``COCKPIT_OVERDUE_ALERT_PERCENT``). The same sources as the
data dashboard (``workflows.selectors.instruments``): applications by creation time, loans by
value date (the close's ``DisbursementDay``, today's from the loan table), the portfolio from the
close's nightly aggregate."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from creditfactory.organisations.scoping import scope_queryset
from ..models import CreditApplication
from .instruments import (
    DashboardFilters, day_bounds, disbursed_by_day, funder_quota, percent, portfolio_series, sla_breaches,
)

__all__ = ["TREND_DAYS", "Figure", "cockpit_figures"]

TREND_DAYS = 14
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: Decimal | int | None
    previous: Decimal | int | None
    trend: list
    unit: str = ""  # "money", "percent" or "" (a count)
    lower_is_better: bool = False

    @property
    def change(self):
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def direction(self) -> str:
        change = self.change
        if not change:
            return "flat"
        good = (change < 0) if self.lower_is_better else (change > 0)
        return "good" if good else "bad"


def _daily(rows, days: list[datetime.date], field: str) -> list:
    by_day = {row["day"]: row[field] for row in rows}
    return [by_day.get(day, 0) or 0 for day in days]


def cockpit_figures(user, *, day: datetime.date | None = None, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    days = [day - datetime.timedelta(days=n) for n in range(TREND_DAYS - 1, -1, -1)]
    start, end = day_bounds(days[0], last=day)

    applications = (scope_queryset(CreditApplication.objects.all(), user)
                    .filter(created_at__gte=start, created_at__lt=end)
                    .annotate(day=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
                    .values("day").order_by("day").annotate(n=Count("id")))
    applications_trend = _daily(applications, days, "n")
    loans = [{"day": value_date, "amount": row["amount"], "n": row["count"]} for value_date, row in
             disbursed_by_day(user, f=DashboardFilters(start=days[0], end=day), first=days[0], last=day).items()]
    disbursed_trend = [amount if amount else ZERO for amount in _daily(loans, days, "amount")]
    disbursed_count_trend = _daily(loans, days, "n")

    series = portfolio_series(user, f=DashboardFilters(start=days[0], end=day), days=TREND_DAYS)
    outstanding = [row["outstanding"] for row in series]
    m1 = [percent(row["m1"], whole=row["outstanding"], places="0.01") for row in series]
    dpd30 = [percent(row["dpd30"], whole=row["outstanding"], places="0.01") for row in series]

    def last(values, back=1):
        return values[-back] if len(values) >= back else None

    figures = [
        Figure("applications", _("Applications"), applications_trend[-1], applications_trend[-2],
               applications_trend),
        Figure("disbursed", _("Amount disbursed"), disbursed_trend[-1], disbursed_trend[-2], disbursed_trend,
               unit="money"),
        Figure("disbursed-count", _("Loans disbursed"), disbursed_count_trend[-1], disbursed_count_trend[-2],
               disbursed_count_trend),
        Figure("outstanding", _("Principal outstanding"), last(outstanding), last(outstanding, 2), outstanding,
               unit="money"),
        Figure("m1-rate", _("Overdue rate M1+"), last(m1), last(m1, 2), m1, unit="percent", lower_is_better=True),
        Figure("dpd30-rate", _("DPD 30+ rate"), last(dpd30), last(dpd30, 2), dpd30, unit="percent",
               lower_is_better=True),
    ]

    alerts = []
    breaches = sla_breaches(user, now=now)
    for row in breaches:
        alerts.append({"kind": "sla", "text": _("%(group)s: %(count)s tasks past their SLA (%(escalated)s escalated)")
                       % {"group": row["work_group__name"] or _("No work group"), "count": row["overdue"],
                          "escalated": row["escalated"]}})
    threshold = settings.COCKPIT_QUOTA_ALERT_PERCENT
    for quota in funder_quota(DashboardFilters(start=day, end=day)):
        for rate, text in ((quota["total_rate"], _("%(funder)s has used %(rate)s %% of its total quota")),
                           (quota["daily_rate"], _("%(funder)s has used %(rate)s %% of today's quota"))):
            if rate is not None and rate >= threshold:
                alerts.append({"kind": "quota", "text": text % {"funder": quota["funder"].name, "rate": rate}})
    overdue_limit = settings.COCKPIT_OVERDUE_ALERT_PERCENT
    if last(m1) is not None and last(m1) > overdue_limit:
        alerts.append({"kind": "overdue", "text": _("The M1+ overdue rate is %(rate)s %%, above %(limit)s %%")
                       % {"rate": last(m1), "limit": overdue_limit}})
    return {"day": day, "figures": figures, "alerts": alerts,
            "portfolio_as_of": series[-1]["business_date"] if series else None}
