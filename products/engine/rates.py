"""Conversions between the annual rate and the daily rate a product may be quoted in.

Products are quoted either way (日利率 0.05 % or 年利率 18 %); the engine works with the
annual rate, and the day count says how many days make the year: daily = annual / 360
under ACT/360, / 365 under ACT/365. Rates are not money, so nothing is rounded to a
fixed scale: the result is exact whenever it terminates within 34 digits.
"""

from __future__ import annotations

from decimal import Decimal

from .money import MONEY_CONTEXT
from .types import DayCount

__all__ = ["annual_to_daily", "daily_to_annual"]


def daily_to_annual(daily_rate: Decimal, *, day_count: DayCount = DayCount.ACT_360) -> Decimal:
    """Annual rate (fraction) from a daily rate (fraction): 0.0005 -> 0.18 under ACT/360."""
    return MONEY_CONTEXT.multiply(_rate(daily_rate), Decimal(DayCount(day_count).days_in_year))


def annual_to_daily(annual_rate: Decimal, *, day_count: DayCount = DayCount.ACT_360) -> Decimal:
    """Daily rate (fraction) from an annual rate (fraction): 0.18 -> 0.0005 under ACT/360."""
    return MONEY_CONTEXT.divide(_rate(annual_rate), Decimal(DayCount(day_count).days_in_year))


def _rate(value: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"rates are Decimal fractions, got {type(value).__name__}")
    return Decimal(value)
