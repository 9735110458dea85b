"""The collections' nightly aggregates (``collection.models.figures``), written when the daily
close has finished a date D — after the start of D+1, whose hand-over classified the loans and
moved the cases on D's days past due — through the close's ``CLOSE_SNAPSHOT_HOOKS``:

* ``ClassificationDay`` of D: one grouped read of the open loans' funder parts with their class;
* ``RecoveryDay`` of D: the cases that entered a bucket on D (``CaseStageChange`` of D, by the
  business date index) and the repayments value-dated D on loans whose case was open that day
  (the open cases and those closed since, by their indexes, then each loan's repayments by its
  index ``(loan, value_date)``), each attributed to the bucket its case was in on D.

A co-lent loan's amounts (owed on entry, recovered) are split between its funders' rows by share
as the ledger splits them (``split_by_share``: fen rounding, the lead takes the rest), so the
funder filter is exact; its case is counted once, on the lead funder's row.

Rewriting a date replaces its rows (idempotent). ``recovery_days_write`` also fills a range of
past dates in one pass; ``dashboard_backfill`` (``python manage.py dashboard_backfill``, once after
an upgrade) fills every closed date the nightly close did not write: servicing's
``DisbursementDay`` for the value dates not marked written, and ``RecoveryDay`` from the first
collection case on."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, F, Min, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from servicing.models import DisbursementDate, Loan, LoanPart, LoanStatus, Repayment, RepaymentStatus
from servicing.services.calendar import business_date as current_business_date
from servicing.services.ledger import split_by_share
from servicing.services.portfolio import disbursement_days_write

from ..models import CaseStageChange, Classification, ClassificationDay, CollectionCase, RecoveryDay

__all__ = ["classification_day_write", "collection_snapshot", "dashboard_backfill", "recovery_days_write"]

OPEN_LOANS = (LoanStatus.ACTIVE, LoanStatus.OVERDUE)
ZERO = Decimal("0.00")


def _dims(prefix: str) -> dict:
    return {"product_ref": F(f"{prefix}product_version__product"), "branch_ref": F(f"{prefix}branch"),
            "partner_ref": F(f"{prefix}partner")}


def _ids(row: dict) -> dict:
    return {"product_id": row["product_ref"], "branch_id": row["branch_ref"], "partner_id": row["partner_ref"],
            "funder_id": row["funder_ref"]}


@transaction.atomic
def classification_day_write(*, business_date: datetime.date) -> int:
    """The open loans by class at the end of ``business_date`` (as the close left them)."""
    rows = (LoanPart.objects.filter(loan__status__in=OPEN_LOANS)
            .values(cls=Coalesce(F("loan__collection_class__classification"), Value(Classification.NORMAL.value)),
                    funder_ref=F("funder"), **_dims("loan__"))
            .order_by()
            .annotate(loans=Count("id", filter=Q(lead=True)), outstanding=Sum("principal_outstanding")))
    ClassificationDay.objects.filter(business_date=business_date).delete()
    return len(ClassificationDay.objects.bulk_create([
        ClassificationDay(business_date=business_date, classification=row["cls"], **_ids(row), loans=row["loans"],
                          outstanding=row["outstanding"] or ZERO)
        for row in rows]))


def _co_lent(loan_path: str) -> Exists:
    return Exists(LoanPart.objects.filter(loan_id=OuterRef(loan_path), lead=False))


def _funder_shares(loan_ids) -> dict[int, list[tuple[int, Decimal]]]:
    """{loan id: [(funder id, share percent), …]} lead first, as the ledger orders the parts."""
    shares: dict[int, list] = defaultdict(list)
    for loan_id, funder_id, share in (LoanPart.objects.filter(loan_id__in=set(loan_ids))
                                      .order_by("loan_id", "-lead", "id")
                                      .values_list("loan_id", "funder_id", "share_percent")):
        shares[loan_id].append((funder_id, share))
    return shares


@transaction.atomic
def recovery_days_write(*, first: datetime.date, last: datetime.date) -> int:
    """Each date's bucket entries and recoveries from ``first`` through ``last``; returns the rows."""
    cells: dict[tuple, dict] = defaultdict(lambda: {"entered": 0, "entered_owed": ZERO, "recovered": ZERO})

    def cell(row, funder_id):
        return cells[(row["day"], row["bucket"], row["product_ref"], row["branch_ref"], row["partner_ref"],
                      funder_id)]

    changes = CaseStageChange.objects.filter(~Q(to_bucket=F("from_bucket")), business_date__gte=first,
                                             business_date__lte=last, case__loan__parts__lead=True)
    entries = (changes.filter(~_co_lent("case__loan_id"))
               .values(day=F("business_date"), bucket=F("to_bucket"), funder_ref=F("case__loan__parts__funder"),
                       **_dims("case__loan__"))
               .order_by().annotate(n=Count("id"), owed=Sum("owed")))
    for row in entries:
        entry = cell(row, row["funder_ref"])
        entry["entered"] += row["n"]
        entry["entered_owed"] += row["owed"] or ZERO
    # co-lent loans: one row per change, split between the funders
    shared = list(changes.filter(_co_lent("case__loan_id"))
                  .values("owed", day=F("business_date"), bucket=F("to_bucket"), loan_ref=F("case__loan_id"),
                          funder_ref=F("case__loan__parts__funder"), **_dims("case__loan__")))
    # the case open on the repayment's value date: opened on or before it, not closed by then
    bucket_then = (CaseStageChange.objects.filter(case_id=OuterRef("loan__collection_cases__id"),
                                                  business_date__lte=OuterRef("value_date"))
                   .order_by("-business_date", "-id").values("to_bucket")[:1])
    repayments = (Repayment.objects.filter(Q(loan__collection_cases__closed_on__isnull=True)
                                           | Q(loan__collection_cases__closed_on__gt=F("value_date")),
                                           loan__collection_cases__opened_on__lte=F("value_date"),
                                           status=RepaymentStatus.POSTED, value_date__gte=first,
                                           value_date__lte=last)
                  .filter(loan__parts__lead=True)
                  .annotate(bucket=Subquery(bucket_then)))
    repaid = (repayments.filter(~_co_lent("loan_id"))
              .values("bucket", day=F("value_date"), funder_ref=F("loan__parts__funder"), **_dims("loan__"))
              .order_by().annotate(total=Sum(F("amount") - F("credit_balance"))))
    for row in repaid:
        if row["bucket"]:
            cell(row, row["funder_ref"])["recovered"] += row["total"] or ZERO
    shared_repaid = list(repayments.filter(_co_lent("loan_id"))
                         .values("bucket", day=F("value_date"), loan_ref=F("loan_id"), funder_ref=F("loan__parts__funder"),
                                 **_dims("loan__"))
                         .order_by().annotate(total=Sum(F("amount") - F("credit_balance"))))
    shares = _funder_shares([row["loan_ref"] for row in shared + shared_repaid])
    for row in shared:
        cell(row, row["funder_ref"])["entered"] += 1
        for funder_id, part in split_by_share(amount=row["owed"] or ZERO, shares=shares[row["loan_ref"]]).items():
            cell(row, funder_id)["entered_owed"] += part
    for row in shared_repaid:
        if row["bucket"]:
            for funder_id, part in split_by_share(amount=row["total"] or ZERO,
                                                  shares=shares[row["loan_ref"]]).items():
                cell(row, funder_id)["recovered"] += part
    RecoveryDay.objects.filter(business_date__gte=first, business_date__lte=last).delete()
    return len(RecoveryDay.objects.bulk_create([
        RecoveryDay(business_date=day, bucket=bucket, product_id=product, branch_id=branch, partner_id=partner,
                    funder_id=funder, **values)
        for (day, bucket, product, branch, partner, funder), values in cells.items()]))


def collection_snapshot(*, business_date: datetime.date) -> dict[str, int]:
    """The close's snapshot hook (``CLOSE_SNAPSHOT_HOOKS``) for the date it has just finished."""
    return {"classification_days": classification_day_write(business_date=business_date),
            "recovery_days": recovery_days_write(first=business_date, last=business_date)}


@transaction.atomic
def dashboard_backfill(*, first: datetime.date | None = None, last: datetime.date | None = None) -> dict:
    """Write the dashboard's per-date aggregates of the closed dates ``first`` … ``last`` (default:
    from the first loan's value date and the first case's opening, through the day before the
    business date — the last date closed) as the close would have written them: ``DisbursementDay``
    for each value date not yet marked written (one pass over the range between the first and the
    last missing one) and ``RecoveryDay`` for every date (one pass; a rewrite replaces a date's
    rows with the same figures). Idempotent: a second call writes the same rows again, or none.
    Returns ``{"disbursement_dates": …, "disbursement_days": …, "recovery_dates": …,
    "recovery_days": …}``. ``PortfolioDay``, ``VintageCell`` and ``ClassificationDay`` are the
    portfolio as it stood at a date's close and cannot be rebuilt afterwards."""
    last = last or current_business_date() - datetime.timedelta(days=1)
    counts = {"disbursement_dates": 0, "disbursement_days": 0, "recovery_dates": 0, "recovery_days": 0}
    start = first or Loan.objects.aggregate(first=Min("value_date"))["first"]
    if start is not None and start <= last:
        written = set(DisbursementDate.objects.filter(business_date__gte=start, business_date__lte=last)
                      .values_list("business_date", flat=True))
        missing = [start + datetime.timedelta(days=n) for n in range((last - start).days + 1)
                   if start + datetime.timedelta(days=n) not in written]
        if missing:
            counts["disbursement_dates"] = (missing[-1] - missing[0]).days + 1
            counts["disbursement_days"] = disbursement_days_write(first=missing[0], last=missing[-1])
    start = first or CollectionCase.objects.aggregate(first=Min("opened_on"))["first"]
    if start is not None and start <= last:
        counts["recovery_dates"] = (last - start).days + 1
        counts["recovery_days"] = recovery_days_write(first=start, last=last)
    return counts
