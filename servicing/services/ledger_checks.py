"""The full proof of the books (``manage.py ledger_check`` and the nightly task): what
``reconcile()`` checks, and two checks against the schedules and the lines.

* ``loan_schedule`` — per loan (written-off loans excepted: the write-off zeroes the balances,
  not the schedule), the receivable identity of the servicing conventions (docs/servicing.md):
  principal_outstanding = Σ(principal − principal_paid); interest_receivable =
  Σ(interest_accrued − interest_paid); penalty_receivable = Σ(penalty_accrued − penalty_paid);
  fee_receivable = Σ over installments due on or before the business date (fee − fee_paid).
* ``line_used`` — per credit line, ``used`` = the principal drawn by its loans less the principal
  repaid on them (a revolving line); everything ever drawn (a one-off line).

Each is one aggregate statement (the loans joined to their installments and grouped by loan, the
mismatch a ``HAVING``; the lines with two correlated sums over the loans' and installments'
indexes), not a loop over loans. At most ``limit`` offending rows per check are returned, ordered
by loan / line id, so the first one named is the first offending loan.
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import Case, DecimalField, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from creditfactory.core.money import ZERO, quantize_fen
from servicing.models import CreditLine, Installment, LedgerCheckRun, Loan, LoanStatus

from .calendar import business_date as current_business_date
from .ledger import Difference, reconcile

__all__ = ["ledger_check", "ledger_check_record", "line_used_differences", "schedule_differences"]

logger = logging.getLogger("servicing.ledger")

MONEY = DecimalField(max_digits=18, decimal_places=2)
NOTHING = Value(ZERO, output_field=MONEY)


def _sum(expression, **extra):
    return Coalesce(Sum(expression, output_field=MONEY, **extra), NOTHING, output_field=MONEY)


def schedule_differences(*, business_date: datetime.date | None = None, limit: int = 1000) -> list[Difference]:
    """Loans whose receivable balances differ from their schedule's unpaid amounts (one
    difference per balance that differs), the lowest loan id first."""
    on = business_date or current_business_date()
    schedule = {
        "principal_outstanding": _sum(F("installments__principal") - F("installments__principal_paid")),
        "interest_receivable": _sum(F("installments__interest_accrued") - F("installments__interest_paid")),
        "penalty_receivable": _sum(F("installments__penalty_accrued") - F("installments__penalty_paid")),
        "fee_receivable": _sum(F("installments__fee") - F("installments__fee_paid"),
                               filter=Q(installments__due_date__lte=on)),
    }
    mismatch = Q()
    for name in schedule:
        mismatch |= ~Q(**{name: F(f"schedule_{name}")})
    rows = (Loan.objects.exclude(status=LoanStatus.WRITTEN_OFF)
            .annotate(**{f"schedule_{name}": expression for name, expression in schedule.items()})
            .filter(mismatch).order_by("id")
            .values("number", *schedule, *(f"schedule_{name}" for name in schedule))[:limit])
    return [Difference("loan_schedule", row["number"], quantize_fen(row[f"schedule_{name}"]), row[name],
                       {"balance": name})
            for row in rows for name in schedule if row[name] != row[f"schedule_{name}"]]


def line_used_differences(*, limit: int = 1000) -> list[Difference]:
    """Credit lines whose ``used`` differs from what their loans drew (less what was repaid, for a
    revolving line), the lowest line id first. The subject is the line's number (``CL…``)."""
    drawn = (Loan.objects.filter(credit_line=OuterRef("pk")).order_by().values("credit_line")
             .annotate(total=Sum("principal")).values("total"))
    repaid = (Installment.objects.filter(loan__credit_line=OuterRef("pk")).order_by().values("loan__credit_line")
              .annotate(total=Sum("principal_paid")).values("total"))
    rows = (CreditLine.objects
            .annotate(drawn=Coalesce(Subquery(drawn, output_field=MONEY), NOTHING, output_field=MONEY),
                      repaid=Coalesce(Subquery(repaid, output_field=MONEY), NOTHING, output_field=MONEY))
            .annotate(expected=Case(When(revolving=True, then=F("drawn") - F("repaid")), default=F("drawn"),
                                    output_field=MONEY))
            .exclude(used=F("expected")).order_by("id")
            .values_list("pk", "revolving", "used", "drawn", "repaid", "expected")[:limit])
    return [Difference("line_used", f"CL{line_id:08d}", quantize_fen(expected), used,
                       {"revolving": revolving, "drawn": drawn, "repaid": repaid})
            for line_id, revolving, used, drawn, repaid, expected in rows]


def ledger_check(*, business_date: datetime.date | None = None) -> list[Difference]:
    """Every check of the books: ``reconcile()`` (entries balance, loans = their parts, control
    accounts = the sub-ledger), then each loan against its schedule and each line's used against
    its loans. Returns the differences, empty when the books agree."""
    with transaction.atomic():
        return [*reconcile(), *schedule_differences(business_date=business_date), *line_used_differences()]


def ledger_check_record(*, business_date: datetime.date | None = None) -> LedgerCheckRun:
    """Run ``ledger_check`` and record its result (a ``LedgerCheckRun``: passed or not, how many
    differences, the first, the first hundred); every difference is logged as an error on
    ``servicing.ledger`` — the alert — when the check fails."""
    on = business_date or current_business_date()
    started = timezone.now()
    differences = ledger_check(business_date=on)
    for difference in differences:
        logger.error("ledger check: %s", difference)
    return LedgerCheckRun.objects.create(
        business_date=on, started_at=started, finished_at=timezone.now(), passed=not differences,
        difference_count=len(differences), first_difference=str(differences[0]) if differences else "",
        differences=[{"check": d.check, "subject": d.subject, "expected": str(d.expected), "actual": str(d.actual),
                      "detail": {key: str(value) for key, value in d.detail.items()}} for d in differences[:100]],
    )
