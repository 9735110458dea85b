"""Money and rates: the one place that says how amounts are rounded.

Amounts are ``Decimal`` in CNY, quantised to the fen (0.01) with ROUND_HALF_UP at defined
boundaries (installment, accrual, posting). Rates are held as percentages in the database
(``6.000000`` = 6 % a year, ``0.050000`` = 0.05 % a day) and as fractions in calculations.
This module has no Django imports so pure domain code can use it.
"""

from contextlib import AbstractContextManager
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

from .numbers import ascii_number_text

FEN = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)
CURRENCY = "CNY"

# 34 digits (decimal128) leave ~20 digits below the fen for any principal up to 10^12, so
# intermediate products and quotients are exact or rounded far below the fen. Traps turn a
# silent NaN/Infinity into an exception: money must never become NaN.
MONEY_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])


def money_context() -> AbstractContextManager[Context]:
    """The explicit decimal context for arithmetic on amounts and rates."""
    return localcontext(MONEY_CONTEXT)


class MoneyError(ValueError):
    pass


def to_decimal(value) -> Decimal:
    """Parse a user- or API-supplied number; floats are refused (they carry binary error), and so
    is text with other than ASCII characters, e.g. full-width digits (``creditfactory.core.numbers``)."""
    if isinstance(value, float):
        raise MoneyError("float is not accepted for money; pass a string or Decimal")
    if isinstance(value, bool):
        raise MoneyError("not a number")
    if not ascii_number_text(value):
        raise MoneyError("write the number with the digits 0-9")
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"{value!r} is not a number") from exc
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a finite number")
    return result


def quantize_fen(value: Decimal) -> Decimal:
    """Round to the fen (0.01 CNY), half up, independently of the global decimal context."""
    if value.__class__ is not Decimal:  # exact type test first: this is on the engine's hot path
        if isinstance(value, Decimal) or (isinstance(value, int) and not isinstance(value, bool)):
            value = Decimal(value)
        elif isinstance(value, str):
            value = to_decimal(value)
        else:
            raise TypeError(f"quantize_fen() needs a Decimal, got {type(value).__name__}")
    return value.quantize(FEN, rounding=ROUND_HALF_UP, context=MONEY_CONTEXT)


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """Round down to a multiple of ``step`` (limits are granted in whole steps, e.g. 100 CNY)."""
    value, step = to_decimal(value), to_decimal(step)
    if step <= 0:
        raise MoneyError("step must be positive")
    return ((value / step).to_integral_value(rounding=ROUND_DOWN) * step).quantize(FEN)


def percent_to_fraction(percent: Decimal) -> Decimal:
    return to_decimal(percent) / HUNDRED


def fraction_to_percent(fraction: Decimal) -> Decimal:
    return to_decimal(fraction) * HUNDRED


def format_money(value: Decimal) -> str:
    """'12345.6' → '12,345.60' for display."""
    return f"{quantize_fen(value):,.2f}"
