"""The schedule after a partial prepayment, from the repayment engine (docs/servicing.md §5).

The installments not yet due are recomputed on the principal left, from the current period's
start, their due dates kept: ``reduce_installment`` keeps their number, ``reduce_term`` keeps the
installment (the fewest installments whose level payment does not exceed the current one; equal
principal: the current principal part) and drops the rest. Interest first and bullet repay
principal at maturity: their term stays either way."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from decimal import Decimal

from creditfactory.core.money import money_context
from products import engine
from products.engine.dates import add_months
from products.engine.methods import level_payment
from products.validation import annual_rate_fraction

__all__ = ["Row", "schedule_recompute"]


@dataclass(frozen=True)
class Row:
    due_date: datetime.date
    principal: Decimal
    interest: Decimal
    payment: Decimal
    remaining_principal: Decimal


def _months_between(start: datetime.date, end: datetime.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return max(months if add_months(start, months) <= end else months - 1, 1)


def _terms(loan, *, principal, start, term, term_unit, method, interest_every):
    return engine.LoanTerms(
        principal=principal,
        annual_rate=annual_rate_fraction(rate_percent=loan.rate_percent, rate_basis=loan.rate_basis,
                                         day_count=loan.day_count),
        term=term, term_unit=engine.TermUnit(term_unit), method=engine.Method(method), start_date=start,
        interest_every_months=interest_every, day_count=engine.DayCount(loan.day_count))


def schedule_recompute(*, loan, remaining: list, principal_left: Decimal, start: datetime.date,
                       recompute: str) -> list[Row]:
    """New rows for the installments not yet due (``remaining``, oldest first), on
    ``principal_left`` from ``start``; as many rows as the new schedule has (≤ len(remaining))."""
    method = engine.Method(loan.repayment_method)
    dues = [i.due_date for i in remaining]
    annual = annual_rate_fraction(rate_percent=loan.rate_percent, rate_basis=loan.rate_basis, day_count=loan.day_count)
    if method.is_single_payment:
        terms = _terms(loan, principal=principal_left, start=start, term=(dues[-1] - start).days, term_unit="days",
                       method=method, interest_every=1)
    elif method is engine.Method.INTEREST_FIRST:
        terms = _terms(loan, principal=principal_left, start=start, term=_months_between(start, dues[-1]),
                       term_unit="months", method=method,
                       interest_every=loan.product_version.interest_every_months)
    else:
        n = len(remaining)
        if recompute == "reduce_term" and n > 1:
            if method is engine.Method.EQUAL_PRINCIPAL:
                n = min(n, max(1, math.ceil(principal_left / remaining[0].principal)))
            else:
                current = remaining[0].payment
                with money_context():
                    n = next((m for m in range(1, n + 1) if level_payment(principal_left, annual, m) <= current), n)
        terms = _terms(loan, principal=principal_left, start=start, term=n, term_unit="months", method=method,
                       interest_every=1)
    schedule = engine.generate_schedule(terms)
    rows = schedule.installments
    if len(rows) > len(dues):  # a month grid finer than the remaining rows: never for the methods above
        raise ValueError("the recomputed schedule has more installments than are left")
    return [Row(due_date=due, principal=row.principal, interest=row.interest, payment=row.payment,
                remaining_principal=row.remaining_principal) for due, row in zip(dues, rows, strict=False)]
