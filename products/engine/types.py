"""Value types of the repayment engine: the methods, loan terms, schedule rows and results.

``LoanTerms`` validates itself when constructed, so an invalid combination of inputs
cannot reach a generator; every rejection is a ``ScheduleError`` naming the offending
field, for forms and APIs to attach the message to the right input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from .dates import add_months
from .money import money_context, quantize_fen

__all__ = [
    "AprResult",
    "DayCount",
    "Installment",
    "LoanTerms",
    "MAX_ANNUAL_RATE",
    "MAX_PRINCIPAL",
    "MAX_TERM_DAYS",
    "MAX_TERM_MONTHS",
    "Method",
    "Schedule",
    "ScheduleError",
    "TermUnit",
]

# Sanity ceilings: anything above is a data-entry error (a percent typed as a fraction,
# days typed as months), not a product.
MAX_ANNUAL_RATE = Decimal(10)  # 1000 % a year
MAX_PRINCIPAL = Decimal(10) ** 12  # keeps every amount well inside the 34-digit context
MAX_TERM_MONTHS = 600  # 50 years
MAX_TERM_DAYS = 3660  # ~10 years for day-counted single-payment loans


class Method(StrEnum):
    """Repayment method (还款方式)."""

    EQUAL_INSTALLMENT = "equal_installment"  # 等额本息
    EQUAL_PRINCIPAL = "equal_principal"  # 等额本金
    INTEREST_FIRST = "interest_first"  # 先息后本
    BULLET = "bullet"  # 一次性还本付息
    REVOLVING = "revolving"  # 随借随还

    @property
    def is_single_payment(self) -> bool:
        """Principal and interest fall due in one installment at maturity."""
        return self in (Method.BULLET, Method.REVOLVING)


class TermUnit(StrEnum):
    MONTHS = "months"
    DAYS = "days"


class DayCount(StrEnum):
    """How a daily rate and a broken period's interest derive from the annual rate."""

    ACT_360 = "ACT/360"
    ACT_365 = "ACT/365"

    @property
    def days_in_year(self) -> int:
        return 360 if self is DayCount.ACT_360 else 365


class ScheduleError(ValueError):
    """Loan terms a schedule cannot be generated for; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        # Both go into args so the exception survives pickling (Celery results).
        super().__init__(field, message)
        self.field = field
        self.message = message

    def __str__(self) -> str:
        # The message alone: callers attach it to their own name for the field.
        return self.message


@dataclass(frozen=True, slots=True, kw_only=True)
class LoanTerms:
    """Everything a repayment schedule depends on.

    ``annual_rate`` and ``upfront_fee_rate`` are fractions (0.06 = 6 %). ``principal`` is
    normalised to the fen. String values of the enums (as stored by Django choices) are
    accepted and converted. Built by keyword only: ten inputs, several of the same type.
    """

    principal: Decimal
    annual_rate: Decimal
    term: int
    term_unit: TermUnit
    method: Method
    start_date: date
    upfront_fee_rate: Decimal = Decimal(0)
    first_due_date: date | None = None
    interest_every_months: int = 1
    day_count: DayCount = DayCount.ACT_360

    def __post_init__(self) -> None:
        with money_context():
            _validate(self)

    @property
    def period_months(self) -> int:
        """Months between regular due dates: the interest interval for interest-first, else 1."""
        return self.interest_every_months if self.method is Method.INTEREST_FIRST else 1


@dataclass(frozen=True, slots=True)
class Installment:
    """One row of the schedule; every amount is in fen. ``remaining_principal`` is after it."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    fee: Decimal
    payment: Decimal
    remaining_principal: Decimal


@dataclass(frozen=True, slots=True)
class Schedule:
    """A repayment schedule with its disbursement and totals.

    ``total_fee`` is the upfront fee plus installment fees; ``total_payment`` is the sum of
    the installment payments (what the borrower pays back, the upfront fee excluded since
    it is withheld from the disbursement).
    """

    terms: LoanTerms
    installments: tuple[Installment, ...]
    upfront_fee: Decimal
    net_disbursed: Decimal
    total_principal: Decimal
    total_interest: Decimal
    total_fee: Decimal
    total_payment: Decimal

    @property
    def maturity_date(self) -> date:
        return self.installments[-1].due_date


@dataclass(frozen=True, slots=True)
class AprResult:
    """Annualised cost of a schedule to the borrower (IRR method), in percent to 0.0001.

    ``nominal_percent`` is the annual rate that, charged the way the contract charges
    interest (simple within each period, compounded at each due date), turns the net
    disbursement into the payments: a fee-free loan's nominal APR is its contract rate.
    ``effective_percent`` compounds it over a year.

    Installment methods: ``periodic_irr`` is the rate per regular period,
    ``periods_per_year`` 12 or 4, nominal = periodic_irr x periods_per_year.
    Single-payment methods: ``periodic_irr`` is the daily compound IRR on actual days,
    ``periods_per_year`` the day count's days in a year, and
    effective = (1 + periodic_irr) ^ periods_per_year - 1 (nominal is the simple rate).
    See ``products.engine.apr``.
    """

    nominal_percent: Decimal
    effective_percent: Decimal
    periodic_irr: Decimal
    periods_per_year: int


def _validate(terms: LoanTerms) -> None:
    # Frozen dataclass: normalised values are written with object.__setattr__.
    def put(name: str, value: object) -> None:
        object.__setattr__(terms, name, value)

    put("method", _enum(Method, terms.method, "method"))
    put("term_unit", _enum(TermUnit, terms.term_unit, "term_unit"))
    put("day_count", _enum(DayCount, terms.day_count, "day_count"))

    principal = _decimal(terms.principal, "principal")
    if not 0 < principal < MAX_PRINCIPAL:
        raise ScheduleError("principal", "must be greater than zero and below 10^12")
    fen_principal = quantize_fen(principal)
    if fen_principal != principal:
        raise ScheduleError("principal", "must be a whole number of fen (two decimal places)")
    put("principal", fen_principal)

    annual_rate = _decimal(terms.annual_rate, "annual_rate")
    if not 0 <= annual_rate < MAX_ANNUAL_RATE:
        raise ScheduleError(
            "annual_rate", "must be a fraction from 0 up to 10 (1000 %), e.g. 0.06 for 6 %"
        )
    put("annual_rate", annual_rate)

    fee_rate = _decimal(terms.upfront_fee_rate, "upfront_fee_rate")
    if not 0 <= fee_rate < 1:
        raise ScheduleError("upfront_fee_rate", "must be a fraction from 0 up to (not incl.) 1")
    if quantize_fen(fen_principal * fee_rate) >= fen_principal:
        raise ScheduleError("upfront_fee_rate", "leaves nothing to disburse")
    put("upfront_fee_rate", fee_rate)

    start = terms.start_date
    if not isinstance(start, date) or isinstance(start, datetime):
        raise ScheduleError("start_date", "must be a date (not a datetime)")

    term = terms.term
    if not isinstance(term, int) or isinstance(term, bool) or term < 1:
        raise ScheduleError("term", "must be a whole number of at least 1")
    method = terms.method
    if terms.term_unit is TermUnit.DAYS:
        if not method.is_single_payment:
            raise ScheduleError("term_unit", f"{method} loans are scheduled in months, not days")
        if term > MAX_TERM_DAYS:
            raise ScheduleError("term", f"must be at most {MAX_TERM_DAYS} days")
    elif term > MAX_TERM_MONTHS:
        raise ScheduleError("term", f"must be at most {MAX_TERM_MONTHS} months")

    # Checked for every method because it is a product parameter, but only interest-first
    # uses it: a product offering several methods carries one value for all of them.
    every = terms.interest_every_months
    if isinstance(every, bool) or every not in (1, 3):
        raise ScheduleError("interest_every_months", "must be 1 or 3")

    # The furthest date any schedule of these terms can reach (first due date shifted
    # by up to one period + 1 month); it must exist in the calendar.
    try:
        if terms.term_unit is TermUnit.DAYS:
            start + timedelta(days=term)
        else:
            add_months(start, term + terms.period_months + 1)
    except (ValueError, OverflowError):
        raise ScheduleError("term", "runs past the end of the supported calendar") from None

    first_due = terms.first_due_date
    if first_due is not None:
        if method.is_single_payment:
            raise ScheduleError(
                "first_due_date", f"{method} loans have one due date, set by the term"
            )
        if not isinstance(first_due, date) or isinstance(first_due, datetime):
            raise ScheduleError("first_due_date", "must be a date (not a datetime)")
        latest = add_months(start, min(terms.period_months, term) + 1)
        if not start < first_due <= latest:
            raise ScheduleError(
                "first_due_date", f"must be after {start} and no later than {latest}"
            )


def _enum(kind: type[StrEnum], value: object, field: str) -> StrEnum:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ScheduleError(field, f"unknown value {value!r}; one of: {choices}") from None


def _decimal(value: object, field: str) -> Decimal:
    # float is refused outright: 0.1 as a float is not 0.1, and money rounding would
    # inherit the binary error.
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise ScheduleError(field, f"must be a Decimal, got {type(value).__name__}")
    value = Decimal(value)
    if not value.is_finite():
        raise ScheduleError(field, "must be a finite number")
    return value
