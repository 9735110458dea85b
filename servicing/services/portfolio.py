"""The nightly portfolio aggregates (``servicing.models.portfolio``), written by the daily close
at the end of the close of a date: one grouped read of the loans' funder parts each, no per-loan
work. Rewriting a date (a re-run of the close) replaces its rows, so it is idempotent.
``disbursement_days_write`` also fills a range of past value dates in one pass (after an upgrade;
until then the dashboard reads those dates' loans from the loan table)."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth

from servicing.models import (
    DisbursementDate, DisbursementDay, Loan, LoanPart, LoanStatus, PortfolioDay, VintageCell,
)

__all__ = ["M1_DPD", "M3_DPD", "VINTAGE_DPD", "disbursement_days_write", "months_between", "portfolio_snapshot",
           "repeat_loan"]

OPEN = (LoanStatus.ACTIVE, LoanStatus.OVERDUE)
M1_DPD = 1     # M1+: one day past due or more
VINTAGE_DPD = 30  # the vintage curves' and the cockpit's DPD 30+
M3_DPD = 91    # M3+: past the M3 bucket (61–90 days)
# A loan is counted once, on its lead funder's row (a co-lent loan's amounts are split by share).
LEAD = Q(lead=True)

_DIMENSIONS = {"product_ref": F("loan__product_version__product"), "branch_ref": F("loan__branch"),
               "partner_ref": F("loan__partner"), "funder_ref": F("funder")}


def months_between(first: datetime.date, *, later: datetime.date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def _dims(row: dict) -> dict:
    return {"product_id": row["product_ref"], "branch_id": row["branch_ref"], "partner_id": row["partner_ref"],
            "funder_id": row["funder_ref"]}


def repeat_loan(*, prefix: str = ""):
    """True when the loan (at ``prefix``) is a repeat loan (复贷): its borrower had an earlier one —
    an earlier value date, or the same one and a smaller id. Two probes of the index
    ``servicing_loan_applicant_date`` (applicant, value_date, id)."""
    borrower = Loan.objects.filter(applicant_id=OuterRef(f"{prefix}applicant_id"))
    return (Exists(borrower.filter(value_date__lt=OuterRef(f"{prefix}value_date")))
            | Exists(borrower.filter(value_date=OuterRef(f"{prefix}value_date"), id__lt=OuterRef(f"{prefix}id"))))


@transaction.atomic
def disbursement_days_write(*, first: datetime.date, last: datetime.date) -> int:
    """The loans of each value date from ``first`` through ``last`` (``DisbursementDay``), and the
    dates marked written (``DisbursementDate``). Returns the rows written."""
    repeat = repeat_loan(prefix="loan__")
    rows = (LoanPart.objects.filter(loan__value_date__gte=first, loan__value_date__lte=last)
            .values(day=F("loan__value_date"), **_DIMENSIONS).order_by()
            .annotate(loans=Count("id", filter=LEAD), parts=Count("id"), amount=Sum("principal"),
                      repeat_loans=Count("id", filter=LEAD & repeat), repeat_parts=Count("id", filter=repeat)))
    DisbursementDay.objects.filter(business_date__gte=first, business_date__lte=last).delete()
    written = DisbursementDay.objects.bulk_create([
        DisbursementDay(business_date=row["day"], **_dims(row), loans=row["loans"], parts=row["parts"],
                        amount=row["amount"], repeat_loans=row["repeat_loans"], repeat_parts=row["repeat_parts"])
        for row in rows])
    dates = [first + datetime.timedelta(days=n) for n in range((last - first).days + 1)]
    DisbursementDate.objects.filter(business_date__in=dates).delete()
    DisbursementDate.objects.bulk_create([DisbursementDate(business_date=day) for day in dates])
    return len(written)


@transaction.atomic
def portfolio_snapshot(*, business_date: datetime.date) -> dict[str, int]:
    """Write the portfolio of the end of ``business_date`` and the vintage cells of its month.
    Returns the rows written per table."""
    open_parts = LoanPart.objects.filter(loan__status__in=OPEN)
    rows = (open_parts.values(**_DIMENSIONS).order_by()
            .annotate(loans=Count("id", filter=LEAD), outstanding=Sum("principal_outstanding"),
                      m1_loans=Count("id", filter=LEAD & Q(loan__days_past_due__gte=M1_DPD)),
                      m1_outstanding=Sum("principal_outstanding", filter=Q(loan__days_past_due__gte=M1_DPD),
                                         default=0),
                      dpd30_loans=Count("id", filter=LEAD & Q(loan__days_past_due__gte=VINTAGE_DPD)),
                      dpd30_outstanding=Sum("principal_outstanding",
                                            filter=Q(loan__days_past_due__gte=VINTAGE_DPD), default=0),
                      m3_loans=Count("id", filter=LEAD & Q(loan__days_past_due__gte=M3_DPD)),
                      m3_outstanding=Sum("principal_outstanding", filter=Q(loan__days_past_due__gte=M3_DPD),
                                         default=0)))
    PortfolioDay.objects.filter(business_date=business_date).delete()
    days = PortfolioDay.objects.bulk_create([
        PortfolioDay(business_date=business_date, **_dims(row), loans=row["loans"], outstanding=row["outstanding"],
                     m1_loans=row["m1_loans"], m1_outstanding=row["m1_outstanding"],
                     dpd30_loans=row["dpd30_loans"], dpd30_outstanding=row["dpd30_outstanding"],
                     m3_loans=row["m3_loans"], m3_outstanding=row["m3_outstanding"])
        for row in rows])

    month = business_date.replace(day=1)
    bad = Q(loan__status__in=OPEN, loan__days_past_due__gte=VINTAGE_DPD)
    cohorts = (LoanPart.objects.filter(loan__value_date__lte=business_date)
               .values(cohort=TruncMonth("loan__value_date"), **_DIMENSIONS).order_by()
               .annotate(loans=Count("id", filter=LEAD), disbursed=Sum("principal"),
                         dpd30_outstanding=Sum("principal_outstanding", filter=bad, default=0)))
    VintageCell.objects.filter(month=month).delete()
    cells = VintageCell.objects.bulk_create([
        VintageCell(cohort=row["cohort"], month=month, months_on_book=months_between(row["cohort"], later=month),
                    **_dims(row), loans=row["loans"], disbursed=row["disbursed"],
                    dpd30_outstanding=row["dpd30_outstanding"], business_date=business_date)
        for row in cohorts])
    disbursed = disbursement_days_write(first=business_date, last=business_date)
    return {"portfolio_days": len(days), "vintage_cells": len(cells), "disbursement_days": disbursed}
