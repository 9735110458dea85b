"""The annualised rate of a schedule (年化利率, IRR method) from the borrower's cash flows.

Cash flows: +net_disbursed at the start date, -payment at each due date.

Nominal APR: the actuarial method (as in US Regulation Z, Appendix J). The annual
rate y solves

    net_disbursed = sum_k payment_k / prod_{j<=k} (1 + y * L_j)

where L_j is period j's length in years as the contract counts it (whole months / 12,
or actual days / days_in_year for a broken first period or a single-payment term; see
``periods``). Interest is simple within a period and compounds at each due date, the
way the schedule charges it, so a fee-free loan's nominal APR is its contract rate up
to fen rounding, and fees show up as the excess over it.

* Installment methods: the unit period is the regular interval (1 month, or 3 for
  quarterly interest-first), ppy = 12 or 4, periodic_irr = y / ppy and
  effective = (1 + y / ppy)^ppy - 1. On a regular schedule (every due date k periods
  after the start) this is the plain periodic IRR on that grid; a broken first period
  or a short last one counts as a fraction of a unit period.
* Single-payment methods (bullet, revolving): the unit period is the term, so y is the
  simple annual rate (repaid / received - 1) / L; periodic_irr is the daily compound
  IRR d on actual days, ppy = days_in_year and effective = (1 + d)^days_in_year - 1,
  which equals (1 + y * L)^(1 / L) - 1.

The nominal rate is deliberately not d x days_in_year: that mixes daily compounding
into simple-interest contracts and understates even a fee-free loan (a 30-day bullet
at 36 % would show 35.49 %).

The solver is floating point (the APR is a reported figure, not money): Newton's
method kept inside a bracket. The functions solved are decreasing and convex in the
rate, so Newton steps from below never overshoot the root and at most one step from
above lands below it; convergence takes a handful of iterations.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal
from itertools import pairwise

from .money import money_context
from .periods import build_periods
from .types import AprResult, Schedule

__all__ = ["compute_apr"]

_PERCENT_SCALE = Decimal("0.0001")
_IRR_DIGITS = Context(prec=15)
_MAX_ITERATIONS = 200


def compute_apr(schedule: Schedule) -> AprResult:
    """The nominal and effective APR of ``schedule`` (see the module docstring).

    Raises ValueError for a schedule repaying less than it disburses (not one the engine
    produces), whose rate would be negative.
    """
    terms = schedule.terms
    installments = schedule.installments
    with money_context():
        repaid = sum((row.payment for row in installments), Decimal(0))
    if repaid < schedule.net_disbursed:
        raise ValueError("payments total less than the amount disbursed; no APR to report")
    net = float(schedule.net_disbursed)
    payments = [float(row.payment) for row in installments]
    days_in_year = terms.day_count.days_in_year

    periods = build_periods(terms)
    if [p.due_date for p in periods] == [row.due_date for row in installments]:
        fractions = [p.year_fraction(terms.day_count) for p in periods]
    else:
        # A schedule edited away from its terms: count its own periods by actual days.
        dates = [terms.start_date, *(row.due_date for row in installments)]
        fractions = [(b - a).days / days_in_year for a, b in pairwise(dates)]

    scale = net + sum(payments)
    nominal = _solve(_actuarial(net, payments, fractions), float(terms.annual_rate), scale)
    if terms.method.is_single_payment:
        per_year = days_in_year
        days = [(row.due_date - terms.start_date).days for row in installments]
        guess = math.log1p(nominal / days_in_year)
        daily_log = _solve(_continuous(net, payments, days), guess, scale)
        periodic = math.expm1(daily_log)
        log_growth = days_in_year * daily_log
    else:
        per_year = 12 // terms.period_months
        periodic = nominal / per_year
        log_growth = per_year * math.log1p(periodic)

    with money_context():
        # exp() in Decimal: a huge fee on a short loan can push the effective rate past
        # the float range.
        effective = Decimal(log_growth).exp() - 1
        return AprResult(
            nominal_percent=_percent(Decimal(nominal)),
            effective_percent=_percent(effective),
            periodic_irr=_IRR_DIGITS.create_decimal_from_float(periodic),
            periods_per_year=per_year,
        )


Evaluation = Callable[[float], tuple[float, float]]


def _actuarial(net: float, payments: Sequence[float], fractions: Sequence[float]) -> Evaluation:
    """f(y) = PV of the payments at annual rate y, compounding per period, minus net; and f'(y)."""
    pairs = list(zip(payments, fractions, strict=True))

    def evaluate(rate: float) -> tuple[float, float]:
        discount = 1.0
        duration = 0.0  # sum of L_j / (1 + y L_j): -d(log discount)/dy
        value = -net
        slope = 0.0
        for payment, fraction in pairs:
            growth = 1.0 + rate * fraction
            discount /= growth
            duration += fraction / growth
            present = payment * discount
            value += present
            slope -= present * duration
        return value, slope

    return evaluate


def _continuous(net: float, payments: Sequence[float], days: Sequence[int]) -> Evaluation:
    """f(c) = sum payment * e^(-c t) - net with t in days, c = log(1 + daily rate); and f'(c)."""
    pairs = list(zip(payments, days, strict=True))
    exp = math.exp

    def evaluate(log_rate: float) -> tuple[float, float]:
        value = -net
        slope = 0.0
        for payment, day in pairs:
            present = payment * exp(-log_rate * day)
            value += present
            slope -= present * day
        return value, slope

    return evaluate


def _solve(evaluate: Evaluation, guess: float, scale: float) -> float:
    """The root in [0, inf) of a decreasing convex f with f(0) >= 0, by bracketed Newton.

    ``scale`` is the magnitude of the terms summed into f (the cash flows), which sets
    the float noise in f and so how closely the root can be located at all.
    """
    low, high = 0.0, math.inf
    rate = max(guess, 0.0)
    for _ in range(_MAX_ITERATIONS):
        value, slope = evaluate(rate)
        if value == 0.0 or slope == 0.0:
            return rate
        if value > 0.0:
            low = rate
        else:
            high = rate
        # Relative 1e-12 is far below the reported 0.0001 %; the second term is the float
        # noise in f (~50 ulp of the cash flows) seen through the slope: below it, Newton
        # steps only ping-pong around the root.
        tolerance = 1e-12 * rate + 1e-14 * scale / -slope
        if high - low <= tolerance:
            return (low + high) / 2.0
        candidate = rate - value / slope
        if not low <= candidate <= high:
            # Only after a step from above the root: bisect the bracket instead.
            candidate = (low + high) / 2.0
        if abs(candidate - rate) <= tolerance:
            return candidate
        rate = candidate
    raise ArithmeticError("IRR did not converge")


def _percent(fraction: Decimal) -> Decimal:
    # Enough digits for the integer part of any percentage plus four decimals.
    context = Context(prec=max(34, fraction.adjusted() + 10))
    return (fraction * 100).quantize(_PERCENT_SCALE, rounding=ROUND_HALF_UP, context=context)
