"""The data dashboard (数据仪表盘) for managers: origination, disbursement and portfolio figures of
a date range, filtered by product, branch, channel (a partner, or the lender's own channels) and
funder, scoped to the viewer's branches.

Where each figure comes from (none scans the loan table per view):

* applications, approval and straight-through rates, approval time, large loans' manual review:
  applications created in the range (index on ``created_at``);
* disbursed count and amount, repeat borrowing (复贷率): ``DisbursementDay`` (the close) for the
  value dates it has aggregated, the loan table by value date (index ``servicing_loan_value_date``
  and the borrower's index for the earlier loan) for the others — today's;
* outstanding by product and funder, overdue rates M1+ / M3+: ``PortfolioDay``, the aggregate the
  daily close writes, of the last closed date on or before the range's end;
* vintage curves: ``VintageCell`` (the close too), DPD 30+ principal over principal disbursed;
* five-category classification (五级分类): ``collection.ClassificationDay`` (the close), of the
  last closed date on or before the range's end;
* collection recovery by bucket: ``collection.RecoveryDay`` (the close), summed over the range —
  recovered while in the bucket ÷ owed by the cases when they entered it;
* funder quota, tasks past their SLA: small tables, read as they are now.

The funder filter applies to the loan figures (the funder's parts); applications have no funder
yet, so it leaves those figures alone.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Aggregate, Count, DurationField, F, Q, Sum
from django.utils import timezone
from viewflow.workflow.status import STATUS

from collection.models import Bucket, Classification, ClassificationDay, RecoveryDay
from creditfactory.organisations.scoping import scope_queryset
from products.models import LoanProduct
from servicing.models import (
    DisbursementDate, DisbursementDay, Funder, FunderQuotaDay, Loan, LoanPart, PortfolioDay, VintageCell,
)
from servicing.services.calendar import business_date
from servicing.services.portfolio import repeat_loan

from ..models import ApplicationStatus, ApprovalMode, Channel, CreditApplication, TaskSla

__all__ = ["NON_PERFORMING", "OWN_CHANNEL", "DashboardFilters", "dashboard_figures", "day_bounds",
           "disbursed_by_day", "funder_quota", "percent", "portfolio_series", "sla_breaches"]

OWN_CHANNEL = "own"  # the channel filter's value for the lender's own channels (no partner)
ZERO = Decimal("0.00")
VINTAGE_COHORTS = 12
OPEN_TASKS = [STATUS.NEW, STATUS.ASSIGNED]
# non-performing loans (不良贷款): the last three of the five categories
NON_PERFORMING = (Classification.SUBSTANDARD, Classification.DOUBTFUL, Classification.LOSS)


@dataclass(frozen=True)
class DashboardFilters:
    start: datetime.date
    end: datetime.date
    product_id: int | None = None
    branch_id: int | None = None
    channel: str | None = None  # OWN_CHANNEL or a partner's id as text
    funder_id: int | None = None


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(f) WITHIN GROUP (ORDER BY expression)``."""

    function = "PERCENTILE_CONT"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def percent(part, *, whole, places: str = "0.1") -> Decimal | None:
    """``part`` as a percentage of ``whole``, half up; None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def day_bounds(first: datetime.date, *, last: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_default_timezone()
    return (datetime.datetime.combine(first, datetime.time.min, tzinfo=zone),
            datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone))


def _channel_q(channel: str | None, field: str = "partner") -> Q:
    if not channel:
        return Q()
    if channel == OWN_CHANNEL:
        return Q(**{f"{field}__isnull": True})
    return Q(**{f"{field}_id": int(channel)})


def _applications(user, f: DashboardFilters):
    qs = scope_queryset(CreditApplication.objects.all(), user)
    if f.product_id:
        qs = qs.filter(product_version__product_id=f.product_id)
    if f.branch_id:
        qs = qs.filter(branch_id=f.branch_id)
    return qs.filter(_channel_q(f.channel))


def _minutes(value) -> Decimal | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)
    return (Decimal(str(seconds)) / 60).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _origination(user, f: DashboardFilters) -> dict:
    applications = _applications(user, f)
    start, end = day_bounds(f.start, last=f.end)
    in_range = applications.filter(created_at__gte=start, created_at__lt=end)
    day_start, _day_end = day_bounds(f.end, last=f.end)
    month_start, _month_end = day_bounds(f.end.replace(day=1), last=f.end)

    def breakdown(field, labels):
        rows = (applications.filter(created_at__gte=min(start, month_start), created_at__lt=end)
                .values(field).order_by(field)
                .annotate(today=Count("id", filter=Q(created_at__gte=day_start)),
                          month=Count("id", filter=Q(created_at__gte=month_start)),
                          range=Count("id", filter=Q(created_at__gte=start))))
        return [{"key": row[field], "label": labels.get(row[field], row[field]), "today": row["today"],
                 "month": row["month"], "range": row["range"]} for row in rows]

    by_product = breakdown("product_version__product_id", {})
    names = dict(LoanProduct.objects.filter(pk__in=[row["key"] for row in by_product]).values_list("pk", "name"))
    for row in by_product:
        row["label"] = names.get(row["key"], row["key"])
    by_channel = breakdown("channel", dict(Channel.choices))

    decided = Q(approved_at__isnull=False) | Q(status=ApplicationStatus.REJECTED)
    manual = Q(approval_mode__in=[ApprovalMode.REVIEW, ApprovalMode.APPROVAL]) | Q(reviewed_by__isnull=False)
    large = Q(amount__gt=settings.DASHBOARD_LARGE_LOAN)
    counts = in_range.aggregate(
        total=Count("id"), decided=Count("id", filter=decided),
        approved=Count("id", filter=Q(approved_at__isnull=False)),
        straight=Count("id", filter=Q(approved_at__isnull=False, approval_mode=ApprovalMode.STRAIGHT_THROUGH)),
        large=Count("id", filter=large & decided), large_manual=Count("id", filter=large & decided & manual))
    target = datetime.timedelta(minutes=settings.DASHBOARD_APPROVAL_TARGET_MINUTES)
    durations = (in_range.filter(approved_at__isnull=False)
                 .annotate(took=F("approved_at") - F("submitted_at"))
                 .filter(submitted_at__isnull=False)
                 .aggregate(p50=PercentileCont("took", fraction=0.5, output_field=DurationField()),
                            p90=PercentileCont("took", fraction=0.9, output_field=DurationField()),
                            timed=Count("id"), within=Count("id", filter=Q(took__lte=target))))
    return {
        "applications_today": sum(row["today"] for row in by_channel),
        "applications_month": sum(row["month"] for row in by_channel),
        "applications_range": counts["total"],
        "applications_by_product": by_product, "applications_by_channel": by_channel,
        "decided": counts["decided"], "approved": counts["approved"],
        "approval_rate": percent(counts["approved"], whole=counts["decided"]),
        "straight_through": counts["straight"],
        "straight_through_rate": percent(counts["straight"], whole=counts["approved"]),
        "approval_p50_minutes": _minutes(durations["p50"]), "approval_p90_minutes": _minutes(durations["p90"]),
        "approval_target_minutes": settings.DASHBOARD_APPROVAL_TARGET_MINUTES,
        "approval_within_target_rate": percent(durations["within"], whole=durations["timed"]),
        "large_decided": counts["large"], "large_manual": counts["large_manual"],
        "large_manual_rate": percent(counts["large_manual"], whole=counts["large"]),
        "large_manual_target": settings.DASHBOARD_LARGE_MANUAL_TARGET,
        "large_loan_amount": settings.DASHBOARD_LARGE_LOAN,
    }


def _loan_filter(f: DashboardFilters, prefix: str = "") -> Q:
    q = Q()
    if f.product_id:
        q &= Q(**{f"{prefix}product_version__product_id": f.product_id})
    if f.branch_id:
        q &= Q(**{f"{prefix}branch_id": f.branch_id})
    return q & _channel_q(f.channel, f"{prefix}partner")


def _dates(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]


def disbursed_by_day(user, *, f: DashboardFilters, first: datetime.date, last: datetime.date) -> dict:
    """{value date: {"count", "amount", "repeat"}} from ``first`` through ``last``: the dates the
    close has aggregated from ``DisbursementDay``, the others (today's) from the loan table by its
    value-date index. With a funder filter: the loans the funder has a part of, and its parts."""
    written = set(DisbursementDate.objects.filter(business_date__gte=first, business_date__lte=last)
                  .values_list("business_date", flat=True))
    days: dict[datetime.date, dict] = {}
    if written:
        counted = ("parts", "repeat_parts") if f.funder_id else ("loans", "repeat_loans")
        rows = (_portfolio_rows(user, f, DisbursementDay).filter(business_date__in=sorted(written))
                .values("business_date").order_by()
                .annotate(count=Sum(counted[0]), amount=Sum("amount"), repeat=Sum(counted[1])))
        for row in rows:
            days[row["business_date"]] = {"count": row["count"], "amount": row["amount"], "repeat": row["repeat"]}
    live = [day for day in _dates(first, last) if day not in written]
    if live:
        loans = scope_queryset(Loan.objects.all(), user).filter(_loan_filter(f), value_date__in=live)
        if f.funder_id:  # the funder's parts of the loans
            parts = scope_queryset(LoanPart.objects.filter(funder_id=f.funder_id), user, branch_field="loan__branch")
            rows = (parts.filter(_loan_filter(f, "loan__"), loan__value_date__in=live)
                    .values(day=F("loan__value_date")).order_by()
                    .annotate(count=Count("id"), amount=Sum("principal"),
                              repeat=Count("id", filter=repeat_loan(prefix="loan__"))))
        else:
            rows = (loans.values(day=F("value_date")).order_by()
                    .annotate(count=Count("id"), amount=Sum("principal"), repeat=Count("id", filter=repeat_loan())))
        for row in rows:
            days[row["day"]] = {"count": row["count"], "amount": row["amount"], "repeat": row["repeat"]}
    return days


def _disbursement(user, f: DashboardFilters) -> dict:
    days = disbursed_by_day(user, f=f, first=f.start, last=f.end).values()
    count = sum(day["count"] for day in days)
    repeat = sum(day["repeat"] for day in days)
    return {
        "disbursed_count": count, "disbursed_amount": sum((day["amount"] for day in days), ZERO),
        "repeat_loans": repeat, "repeat_rate": percent(repeat, whole=count),
        "repeat_target": settings.DASHBOARD_REPEAT_TARGET,
    }


def _portfolio_rows(user, f: DashboardFilters, model=PortfolioDay):
    rows = scope_queryset(model.objects.all(), user)
    if f.product_id:
        rows = rows.filter(product_id=f.product_id)
    if f.branch_id:
        rows = rows.filter(branch_id=f.branch_id)
    if f.funder_id:
        rows = rows.filter(funder_id=f.funder_id)
    return rows.filter(_channel_q(f.channel))


def _portfolio(user, f: DashboardFilters) -> dict:
    rows = _portfolio_rows(user, f)
    as_of = (PortfolioDay.objects.filter(business_date__lte=f.end).order_by("-business_date")
             .values_list("business_date", flat=True).first())
    day = rows.filter(business_date=as_of)
    sums = {"loans": Sum("loans"), "outstanding": Sum("outstanding", default=ZERO),
            "m1": Sum("m1_outstanding", default=ZERO), "m3": Sum("m3_outstanding", default=ZERO)}
    totals = day.aggregate(**sums)
    by_product = [dict(row, m1_rate=percent(row["m1"], whole=row["outstanding"]))
                  for row in day.values("product_id", "product__name").order_by("product__name").annotate(**sums)]
    by_funder = [dict(row, m1_rate=percent(row["m1"], whole=row["outstanding"]))
                 for row in day.values("funder_id", "funder__name").order_by("funder__name").annotate(**sums)]
    return {
        "portfolio_as_of": as_of, "open_loans": totals["loans"] or 0, "outstanding": totals["outstanding"],
        "m1_outstanding": totals["m1"], "m3_outstanding": totals["m3"],
        "m1_rate": percent(totals["m1"], whole=totals["outstanding"], places="0.01"),
        "m3_rate": percent(totals["m3"], whole=totals["outstanding"], places="0.01"),
        "outstanding_by_product": by_product, "outstanding_by_funder": by_funder,
    }


def _vintage(user, f: DashboardFilters) -> dict:
    cells = scope_queryset(VintageCell.objects.all(), user)
    if f.product_id:
        cells = cells.filter(product_id=f.product_id)
    if f.branch_id:
        cells = cells.filter(branch_id=f.branch_id)
    if f.funder_id:
        cells = cells.filter(funder_id=f.funder_id)
    last = f.end.replace(day=1)
    first = last
    for _month in range(VINTAGE_COHORTS - 1):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    rows = (cells.filter(_channel_q(f.channel), cohort__gte=first, cohort__lte=last, month__lte=last)
            .values("cohort", "months_on_book").order_by("cohort", "months_on_book")
            .annotate(disbursed=Sum("disbursed"), bad=Sum("dpd30_outstanding")))
    curves: dict[datetime.date, dict[int, Decimal | None]] = {}
    for row in rows:
        curves.setdefault(row["cohort"], {})[row["months_on_book"]] = percent(row["bad"], whole=row["disbursed"],
                                                                               places="0.01")
    width = max((max(points) for points in curves.values()), default=-1) + 1
    table = [{"cohort": cohort, "points": [points.get(mob) for mob in range(width)]}
             for cohort, points in sorted(curves.items())]
    return {"vintage": table, "vintage_months": list(range(width))}


def _classification(user, f: DashboardFilters) -> dict:
    """The open loans by class (五级分类) at the close of the last closed date on or before the
    range's end: how many, principal outstanding, its share; the non-performing share (不良率)."""
    as_of = (ClassificationDay.objects.filter(business_date__lte=f.end).order_by("-business_date")
             .values_list("business_date", flat=True).first())
    sums = dict((row["classification"], row) for row in
                _portfolio_rows(user, f, ClassificationDay).filter(business_date=as_of)
                .values("classification").order_by().annotate(loans=Sum("loans"), outstanding=Sum("outstanding")))
    total = sum((row["outstanding"] for row in sums.values()), ZERO)
    classes = []
    for value, label in Classification.choices:
        row = sums.get(value, {})
        outstanding = row.get("outstanding") or ZERO
        classes.append({"classification": value, "label": label, "loans": row.get("loans") or 0,
                        "outstanding": outstanding, "share": percent(outstanding, whole=total, places="0.01")})
    npl = sum((row["outstanding"] for row in classes if row["classification"] in NON_PERFORMING), ZERO)
    return {"classification_as_of": as_of, "classification": classes, "npl_outstanding": npl,
            "npl_rate": percent(npl, whole=total, places="0.01")}


def _recovery(user, f: DashboardFilters) -> dict:
    """Collection recovery by bucket over the range: what borrowers repaid on loans while their
    case was open and in the bucket ÷ what the cases that entered the bucket owed when they did."""
    sums = {row["bucket"]: row for row in
            _portfolio_rows(user, f, RecoveryDay).filter(business_date__gte=f.start, business_date__lte=f.end)
            .values("bucket").order_by().annotate(entered=Sum("entered"), entered_owed=Sum("entered_owed"),
                                                   recovered=Sum("recovered"))}
    rows = []
    for code in Bucket.objects.filter(min_dpd__gte=1).order_by("min_dpd").values_list("code", flat=True):
        row = sums.pop(code, {})
        rows.append({"bucket": code, "entered": row.get("entered") or 0,
                     "entered_owed": row.get("entered_owed") or ZERO, "recovered": row.get("recovered") or ZERO})
    rows += [{"bucket": code, "entered": row["entered"], "entered_owed": row["entered_owed"],
              "recovered": row["recovered"]} for code, row in sorted(sums.items())]  # a bucket since removed
    for row in rows:
        row["rate"] = percent(row["recovered"], whole=row["entered_owed"], places="0.01")
    return {"recovery": rows}


def funder_quota(f: DashboardFilters) -> list[dict]:
    today = business_date()
    funders = Funder.objects.filter(active=True).order_by("priority", "code")
    if f.funder_id:
        funders = funders.filter(pk=f.funder_id)
    used_today = dict(FunderQuotaDay.objects.filter(business_date=today).values_list("funder_id", "used"))
    return [{"funder": funder, "total_used": funder.total_used, "total_quota": funder.total_quota,
             "total_rate": percent(funder.total_used, whole=funder.total_quota),
             "daily_used": used_today.get(funder.pk, ZERO), "daily_quota": funder.daily_quota,
             "daily_rate": percent(used_today.get(funder.pk, ZERO), whole=funder.daily_quota)}
            for funder in funders]


def sla_breaches(user, *, now: datetime.datetime | None = None, branch_id: int | None = None) -> list[dict]:
    """Open tasks past their SLA now, per work group (with how many were escalated)."""
    slas = scope_queryset(TaskSla.objects.filter(task__status__in=OPEN_TASKS, due_at__lte=now or timezone.now()),
                          user, branch_field="branch")
    if branch_id:
        slas = slas.filter(branch_id=branch_id)
    return list(slas.values("work_group__name").annotate(overdue=Count("id"),
                                                         escalated=Count("id", filter=Q(escalated_at__isnull=False)))
                .order_by("work_group__name"))


def portfolio_series(user, *, f: DashboardFilters, days: int) -> list[dict]:
    """The portfolio's outstanding, M1+ and DPD 30+ principal at the last ``days`` closed dates up
    to ``f.end`` (oldest first)."""
    rows = (_portfolio_rows(user, f).filter(business_date__lte=f.end,
                                            business_date__gt=f.end - datetime.timedelta(days=days))
            .values("business_date").order_by("business_date")
            .annotate(outstanding=Sum("outstanding"), m1=Sum("m1_outstanding"), dpd30=Sum("dpd30_outstanding"),
                      loans=Sum("loans")))
    return list(rows)


def dashboard_figures(user, *, filters: DashboardFilters, now: datetime.datetime | None = None) -> dict:
    figures = {"filters": filters}
    figures.update(_origination(user, filters))
    figures.update(_disbursement(user, filters))
    figures.update(_portfolio(user, filters))
    figures.update(_vintage(user, filters))
    figures.update(_classification(user, filters))
    figures.update(_recovery(user, filters))
    figures["quota"] = funder_quota(filters)
    figures["sla_breaches"] = sla_breaches(user, now=now, branch_id=filters.branch_id)
    figures["sla_breaches_total"] = sum(row["overdue"] for row in figures["sla_breaches"])
    return figures

