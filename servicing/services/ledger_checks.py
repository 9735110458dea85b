"""The full proof of the books (``manage.py ledger_check`` and the nightly task): what
``reconcile()`` checks, and two checks against the schedules and the lines.

* ``loan_schedule`` — per loan (written-off loans excepted: the write-off zeroes the balances,
  not the schedule), the receivable identity of the servicing conventions (docs/servicing.md):
  principal_outstanding = Σ(principal − principal_paid); interest_receivable =
  Σ(interest_accrued − interest_paid); penalty_receivable = Σ(penalty_accrued − penalty_paid);
  fee_receivable = Σ over installments due on or before the business date (fee − fee_paid).
* ``line_used`` — per credit line, ``used`` = the principal drawn by its loans less the principal
  repaid on them (a revolving line); everything ever drawn (a one-off line).

Each is one aggregate SQL statement (a ``GROUP BY`` over the installments joined to the loans or
the lines), not a loop over loans: it runs over a million loans as one sequential scan of each
table. At most ``limit`` offending rows per check are returned, ordered by loan / line id, so the
first one named is the first offending loan.
"""

from __future__ import annotations

import datetime
import logging

from django.db import connection, transaction
from django.utils import timezone

from servicing.models import LedgerCheckRun, LoanStatus

from .calendar import business_date as current_business_date
from .ledger import Difference, reconcile

__all__ = ["ledger_check", "ledger_check_record", "line_used_differences", "schedule_differences"]

logger = logging.getLogger("servicing.ledger")

# Loan balance → the schedule's figure it must equal (the column of the aggregate below).
SCHEDULE_BALANCES = ("principal_outstanding", "interest_receivable", "penalty_receivable", "fee_receivable")

_SCHEDULE_SQL = """
WITH schedule AS (
    SELECT loan_id,
           SUM(principal - principal_paid) AS principal_outstanding,
           SUM(interest_accrued - interest_paid) AS interest_receivable,
           SUM(penalty_accrued - penalty_paid) AS penalty_receivable,
           COALESCE(SUM(fee - fee_paid) FILTER (WHERE due_date <= %(date)s), 0.00) AS fee_receivable
      FROM servicing_installment
     GROUP BY loan_id
)
SELECT l.number,
       l.principal_outstanding, COALESCE(s.principal_outstanding, 0.00),
       l.interest_receivable, COALESCE(s.interest_receivable, 0.00),
       l.penalty_receivable, COALESCE(s.penalty_receivable, 0.00),
       l.fee_receivable, COALESCE(s.fee_receivable, 0.00)
  FROM servicing_loan l
  LEFT JOIN schedule s ON s.loan_id = l.id
 WHERE l.status <> %(written_off)s
   AND (l.principal_outstanding <> COALESCE(s.principal_outstanding, 0.00)
        OR l.interest_receivable <> COALESCE(s.interest_receivable, 0.00)
        OR l.penalty_receivable <> COALESCE(s.penalty_receivable, 0.00)
        OR l.fee_receivable <> COALESCE(s.fee_receivable, 0.00))
 ORDER BY l.id
 LIMIT %(limit)s
"""

_LINE_SQL = """
WITH repaid AS (
    SELECT loan_id, SUM(principal_paid) AS principal_paid
      FROM servicing_installment
     GROUP BY loan_id
), drawn AS (
    SELECT l.credit_line_id, SUM(l.principal) AS drawn, SUM(COALESCE(r.principal_paid, 0.00)) AS repaid
      FROM servicing_loan l
      LEFT JOIN repaid r ON r.loan_id = l.id
     GROUP BY l.credit_line_id
)
SELECT c.id, c.revolving, c.used, COALESCE(d.drawn, 0.00), COALESCE(d.repaid, 0.00)
  FROM servicing_creditline c
  LEFT JOIN drawn d ON d.credit_line_id = c.id
 WHERE c.used <> CASE WHEN c.revolving THEN COALESCE(d.drawn, 0.00) - COALESCE(d.repaid, 0.00)
                      ELSE COALESCE(d.drawn, 0.00) END
 ORDER BY c.id
 LIMIT %(limit)s
"""


def schedule_differences(*, business_date: datetime.date | None = None, limit: int = 1000) -> list[Difference]:
    """Loans whose receivable balances differ from their schedule's unpaid amounts (one
    difference per balance that differs), the lowest loan id first."""
    on = business_date or current_business_date()
    with connection.cursor() as cursor:
        cursor.execute(_SCHEDULE_SQL, {"date": on, "written_off": LoanStatus.WRITTEN_OFF, "limit": limit})
        rows = cursor.fetchall()
    differences = []
    for number, *figures in rows:
        for index, name in enumerate(SCHEDULE_BALANCES):
            actual, expected = figures[2 * index], figures[2 * index + 1]
            if actual != expected:
                differences.append(Difference("loan_schedule", number, expected, actual, {"balance": name}))
    return differences


def line_used_differences(*, limit: int = 1000) -> list[Difference]:
    """Credit lines whose ``used`` differs from what their loans drew (less what was repaid, for a
    revolving line), the lowest line id first. The subject is the line's number (``CL…``)."""
    with connection.cursor() as cursor:
        cursor.execute(_LINE_SQL, {"limit": limit})
        rows = cursor.fetchall()
    return [Difference("line_used", f"CL{line_id:08d}", drawn - repaid if revolving else drawn, used,
                       {"revolving": revolving, "drawn": drawn, "repaid": repaid})
            for line_id, revolving, used, drawn, repaid in rows]


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

