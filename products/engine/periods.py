"""The period grid of a schedule: each installment's due date and how its interest accrues.

Both the generators (to charge interest) and the APR calculation (to annualise on the
same basis the interest was charged on) read the grid from here, so the two can never
disagree about period lengths.

Due dates:

* Monthly methods fall due every ``terms.period_months`` months (1, or 3 for quarterly
  interest-first) on the start date's day of month, clamped to month end and always
  counted from the start date (Jan 31 -> Feb 28/29 -> Mar 31 -> Apr 30). The last
  installment falls ``term`` months after the start, so a quarterly interest-first term
  that is not a multiple of 3 ends in a short period of 1 or 2 months, charged for
  those months.
* With ``first_due_date`` (a fixed repayment day, 固定还款日) the due dates anchor on it
  instead: first_due_date, then +period months, ... on its day of month, clamped the same
  way. The first period then runs from the start date to first_due_date and accrues
  interest by actual days (broken period); later periods accrue at the periodic rate.
  A first_due_date equal to the regular first due date is not a broken period and yields
  the regular schedule.
* Single-payment methods (bullet, revolving) have one period, start date to maturity
  (start + term months, clamped, or start + term days), accruing by actual days.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from .dates import add_months, month_series
from .money import MONEY_CONTEXT, quantize_fen
from .types import DayCount, LoanTerms, TermUnit

__all__ = ["Period", "build_periods"]


class Period(NamedTuple):
    """The interval an installment's interest accrues over.

    ``months`` is the number of whole months charged at the periodic rate
    (annual / 12 per month); None means the period accrues by actual days
    (annual / days_in_year per day). A NamedTuple rather than a dataclass because a
    360-month schedule builds 360 of them twice (schedule and APR) and tuples are
    built in half the time.
    """

    number: int
    start: date
    due_date: date
    months: int | None

    @property
    def days(self) -> int:
        return (self.due_date - self.start).days

    def year_fraction(self, day_count: DayCount) -> float:
        """The period's length in years as the contract counts it (a float: APR use only)."""
        if self.months is not None:
            return self.months / 12
        return self.days / day_count.days_in_year

    def interest(self, balance: Decimal, annual_rate: Decimal, day_count: DayCount) -> Decimal:
        """Interest on ``balance`` over this period, rounded to the fen.

        The rate is multiplied in before dividing by 12 (or the days in a year), so an
        exact half fen stays exact and rounds up, instead of being perturbed by a
        34-digit rounding of annual / 12.
        """
        ctx = MONEY_CONTEXT
        amount = ctx.multiply(balance, annual_rate)
        if self.months is not None:
            amount = ctx.divide(ctx.multiply(amount, Decimal(self.months)), Decimal(12))
        else:
            amount = ctx.divide(
                ctx.multiply(amount, Decimal(self.days)), Decimal(day_count.days_in_year)
            )
        return quantize_fen(amount)


def build_periods(terms: LoanTerms) -> tuple[Period, ...]:
    """The periods of ``terms``, one per installment, in order (see the module docstring)."""
    start = terms.start_date
    if terms.method.is_single_payment:
        if terms.term_unit is TermUnit.DAYS:
            maturity = start + timedelta(days=terms.term)
        else:
            maturity = add_months(start, terms.term)
        return (Period(1, start, maturity, None),)

    step = terms.period_months
    # Month offsets of the due dates from the start; the last one is the term itself,
    # which makes a short final period when the term is not a multiple of the step.
    offsets = [*range(step, terms.term, step), terms.term]
    first_due = terms.first_due_date
    broken = first_due is not None and first_due != add_months(start, offsets[0])
    anchor, shift = (first_due, offsets[0]) if broken else (start, 0)

    periods = []
    previous_date, previous_offset = start, 0
    due_dates = month_series(anchor, [offset - shift for offset in offsets])
    for number, (offset, due) in enumerate(zip(offsets, due_dates, strict=True), 1):
        months = None if broken and number == 1 else offset - previous_offset
        periods.append(Period(number, previous_date, due, months))
        previous_date, previous_offset = due, offset
    return tuple(periods)
