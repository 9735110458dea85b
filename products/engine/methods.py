"""Schedule generators: one per repayment method behind one interface (as in Fineract).

A generator only decides how each period's payment splits into principal and interest;
``generate_schedule`` builds the period grid (see ``periods``), runs the generator for
the loan's method inside the engine's decimal context, and assembles rows and totals.

Rounding points (ROUND_HALF_UP to the fen): each interest amount, the annuity payment,
each principal part. The last installment always takes the rest of the principal, so
the principal parts sum exactly to the principal.

Conventions beyond the textbook formulas, each for a case the formulas leave open:

* Fen rounding can overshoot on a tiny principal over a long term: 100.00 over 360
  months rounds 0.2778 up to 0.28, and 359 x 0.28 > 100.00 would leave the last
  installment a negative rest. Then the regular amount (equal principal part, or equal
  installment payment) becomes the largest fen amount that still leaves a positive
  balance for the last installment. Only loans where a fraction of a fen is large
  against the monthly principal reach this branch: a few hundred yuan over hundreds of
  months, or very high rates over decades, where (1 + r)^n magnifies the rounding.
* Equal installment with a broken first period (``first_due_date``): the first
  installment's principal part is the regular one (payment - one regular month's
  interest), its interest is by actual days, and its payment is their sum. Later rows
  are exactly those of the regular schedule, so only the first payment differs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from types import MappingProxyType
from typing import ClassVar

from .money import FEN, ZERO, money_context, quantize_fen
from .periods import Period, build_periods
from .types import Installment, LoanTerms, Method, Schedule

__all__ = [
    "BulletGenerator",
    "EqualInstallmentGenerator",
    "EqualPrincipalGenerator",
    "GENERATORS",
    "InterestFirstGenerator",
    "RevolvingGenerator",
    "ScheduleGenerator",
    "generate_schedule",
    "level_payment",
]

# (principal part, interest) of one installment.
Split = tuple[Decimal, Decimal]


class ScheduleGenerator(ABC):
    """Splits each period's payment of one repayment method into principal and interest.

    Called inside the engine's decimal context with validated terms and their period
    grid; returns one split per period whose principal parts sum to the principal and
    are never negative.
    """

    method: ClassVar[Method]

    @abstractmethod
    def split(self, terms: LoanTerms, periods: Sequence[Period]) -> list[Split]: ...


class EqualInstallmentGenerator(ScheduleGenerator):
    """等额本息: a level payment; interest on the balance, the rest repays principal."""

    method = Method.EQUAL_INSTALLMENT

    def split(self, terms: LoanTerms, periods: Sequence[Period]) -> list[Split]:
        payment = level_payment(terms.principal, terms.annual_rate, len(periods))
        rows = self._rows(terms, periods, payment)
        if rows is None:
            payment = self._largest_feasible_payment(terms, periods, payment)
            rows = self._rows(terms, periods, payment)
            assert rows is not None
        return rows

    @staticmethod
    def _rows(terms: LoanTerms, periods: Sequence[Period], payment: Decimal) -> list[Split] | None:
        """The rows for a level ``payment``, or None if it repays the loan before the last."""
        rate, day_count = terms.annual_rate, terms.day_count
        balance = terms.principal
        rows = []
        for period in periods[:-1]:
            # One regular month's interest fixes the principal part, also for a broken
            # first period, whose own interest then only changes the first payment.
            regular_interest = quantize_fen(balance * rate / 12)
            principal = payment - regular_interest
            interest = (
                regular_interest
                if period.months == 1
                else period.interest(balance, rate, day_count)
            )
            rows.append((principal, interest))
            balance -= principal
            if balance <= 0:
                return None
        rows.append((balance, periods[-1].interest(balance, rate, day_count)))
        return rows

    def _largest_feasible_payment(
        self, terms: LoanTerms, periods: Sequence[Period], infeasible: Decimal
    ) -> Decimal:
        # The balance before the last row falls as the payment rises, so bisect on fen.
        # round(P x r) is always feasible: every row is then interest-only and the balance
        # stays P. Any payment at or above it keeps every principal part >= 0, since the
        # balance, and with it the interest, never rises.
        low = int(quantize_fen(terms.principal * terms.annual_rate / 12) / FEN)
        high = int(infeasible / FEN)
        while high - low > 1:
            middle = (low + high) // 2
            if self._rows(terms, periods, middle * FEN) is None:
                high = middle
            else:
                low = middle
        return low * FEN


class EqualPrincipalGenerator(ScheduleGenerator):
    """等额本金: the same principal part each period, interest on the falling balance."""

    method = Method.EQUAL_PRINCIPAL

    def split(self, terms: LoanTerms, periods: Sequence[Period]) -> list[Split]:
        principal, rate, day_count = terms.principal, terms.annual_rate, terms.day_count
        n = len(periods)
        part = quantize_fen(principal / n)
        if n > 1 and part * (n - 1) >= principal:
            # Largest fen amount q with q x (n - 1) < principal (see module docstring).
            part = ((principal - FEN) / (n - 1)).quantize(FEN, rounding=ROUND_DOWN)
        balance = principal
        rows = []
        for period in periods[:-1]:
            rows.append((part, period.interest(balance, rate, day_count)))
            balance -= part
        rows.append((balance, periods[-1].interest(balance, rate, day_count)))
        return rows


class InterestFirstGenerator(ScheduleGenerator):
    """先息后本: interest every 1 or 3 months on the full principal, principal at the end."""

    method = Method.INTEREST_FIRST

    def split(self, terms: LoanTerms, periods: Sequence[Period]) -> list[Split]:
        principal, rate, day_count = terms.principal, terms.annual_rate, terms.day_count
        rows = [(ZERO, period.interest(principal, rate, day_count)) for period in periods]
        rows[-1] = (principal, rows[-1][1])
        return rows


class BulletGenerator(ScheduleGenerator):
    """一次性还本付息: principal and interest for the actual days, all at maturity."""

    method = Method.BULLET

    def split(self, terms: LoanTerms, periods: Sequence[Period]) -> list[Split]:
        (period,) = periods
        return [
            (terms.principal, period.interest(terms.principal, terms.annual_rate, terms.day_count))
        ]


class RevolvingGenerator(BulletGenerator):
    """随借随还, previewed as one draw of the whole principal repaid at the end of the term.

    Interest accrues by the day, as for a bullet loan; actual repayments of a revolving
    line are settled by servicing on the days they happen, not from this schedule.
    """

    method = Method.REVOLVING


GENERATORS: Mapping[Method, ScheduleGenerator] = MappingProxyType(
    {
        generator.method: generator
        for generator in (
            EqualInstallmentGenerator(),
            EqualPrincipalGenerator(),
            InterestFirstGenerator(),
            BulletGenerator(),
            RevolvingGenerator(),
        )
    }
)


def level_payment(principal: Decimal, annual_rate: Decimal, n: int) -> Decimal:
    """The annuity payment P·r / (1 − (1 + r)^−n), r = annual / 12, rounded to the fen.

    At rate 0 it is P / n. Needs the engine's decimal context.
    """
    if annual_rate == 0:
        return quantize_fen(principal / n)
    monthly = annual_rate / 12
    return quantize_fen(principal * monthly / (1 - (1 + monthly) ** -n))


def generate_schedule(terms: LoanTerms) -> Schedule:
    """The repayment schedule of ``terms``; see the module docstrings for the conventions."""
    if not isinstance(terms, LoanTerms):
        raise TypeError(f"generate_schedule() needs LoanTerms, got {type(terms).__name__}")
    with money_context():
        periods = build_periods(terms)
        splits = GENERATORS[terms.method].split(terms, periods)

        installments = []
        balance = terms.principal
        total_interest = total_fee = total_payment = ZERO
        for period, (principal, interest) in zip(periods, splits, strict=True):
            balance -= principal
            fee = ZERO  # the column is there for periodic fees; no method charges one yet
            payment = principal + interest + fee
            installments.append(
                Installment(
                    number=period.number,
                    due_date=period.due_date,
                    principal=principal,
                    interest=interest,
                    fee=fee,
                    payment=payment,
                    remaining_principal=balance,
                )
            )
            total_interest += interest
            total_fee += fee
            total_payment += payment
        upfront_fee = quantize_fen(terms.principal * terms.upfront_fee_rate)
        return Schedule(
            terms=terms,
            installments=tuple(installments),
            upfront_fee=upfront_fee,
            net_disbursed=terms.principal - upfront_fee,
            total_principal=terms.principal - balance,
            total_interest=total_interest,
            total_fee=upfront_fee + total_fee,
            total_payment=total_payment,
        )
