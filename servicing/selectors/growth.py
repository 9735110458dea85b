"""Reads of the credit growth review (额度动态调整): which lines are due for review, and their
repayment history over the review window — one aggregate query per batch of lines."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, F, Max, OuterRef, Q, QuerySet

from products.engine.dates import add_months
from servicing.models import CreditGrowthPolicy, CreditLine, CreditLineReview, CreditLineStatus, Loan

__all__ = ["LineHistory", "line_histories", "lines_due_for_review"]


def lines_due_for_review(*, policy: CreditGrowthPolicy, business_date: datetime.date) -> QuerySet:
    """Active lines of ``policy``'s product whose last review (or grant) is at least the cadence
    ago: valid from on or before D − cadence months and no review after that date. Ordered by id."""
    cutoff = add_months(business_date, -policy.cadence_months)
    recent = CreditLineReview.objects.filter(credit_line=OuterRef("pk"), business_date__gt=cutoff)
    return (CreditLine.objects.filter(product_version__product=policy.product, status=CreditLineStatus.ACTIVE,
                                      valid_from__lte=cutoff, valid_until__gte=business_date)
            .filter(~Exists(recent)).order_by("id"))


@dataclass(frozen=True)
class LineHistory:
    """A line's repayment history over the window (start, D]."""

    due: int  # installments of its loans due in the window
    late: int  # installments overdue at some close in the window (unpaid at the close of their due date)
    days_past_due: int  # the most days past due of its loans now

    @property
    def on_time(self) -> bool:
        return self.late == 0 and self.days_past_due == 0


def line_histories(*, line_ids: list[int], window_start: datetime.date,
                   business_date: datetime.date) -> dict[int, LineHistory]:
    """The history of each line in ``line_ids`` over (``window_start``, ``business_date``]: one
    aggregate over their loans and installments, grouped by line. A line without loans is absent.

    An installment was overdue at some close of the window when it was unpaid at the close of its
    due date (settled after it, or not yet) and that overdue time reaches into the window (due
    before D, settled after the window's start or not yet)."""
    if not line_ids:
        return {}
    due = Q(installments__due_date__gt=window_start, installments__due_date__lte=business_date)
    late = Q(installments__due_date__lt=business_date) & (
        Q(installments__settled_on__isnull=True)
        | (Q(installments__settled_on__gt=F("installments__due_date")) & Q(installments__settled_on__gt=window_start)))
    rows = (Loan.objects.filter(credit_line_id__in=line_ids).values("credit_line_id")
            .annotate(due=Count("installments", filter=due), late=Count("installments", filter=late),
                      dpd=Max("days_past_due")).order_by())
    return {row["credit_line_id"]: LineHistory(due=row["due"], late=row["late"], days_past_due=row["dpd"] or 0)
            for row in rows}
