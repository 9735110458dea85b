"""Calendar arithmetic for due dates: adding months with month-end clamping.

A due date is always derived from one anchor date (the start date, or the first due
date) by adding whole months and clamping to the end of the target month. Chaining
("previous due date + 1 month") would drift: Jan 31 -> Feb 28 -> Mar 28 loses the month
end for good, while anchoring gives Jan 31 -> Feb 28 -> Mar 31 -> Apr 30.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date

__all__ = ["add_months", "days_in_month", "is_leap_year", "month_series"]

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def days_in_month(year: int, month: int) -> int:
    if month == 2 and is_leap_year(year):
        return 29
    return _DAYS_IN_MONTH[month - 1]


def add_months(anchor: date, months: int) -> date:
    """The date ``months`` calendar months after ``anchor`` (negative goes back).

    Keeps ``anchor``'s day of month, clamped to the last day of the target month.
    Raises ValueError when the result falls outside the years 1..9999.
    """
    year, month_index = divmod(anchor.year * 12 + anchor.month - 1 + months, 12)
    month = month_index + 1
    if not 1 <= year <= 9999:
        raise ValueError(f"{anchor} + {months} months is outside the supported calendar")
    day = anchor.day
    if day > 28:
        day = min(day, days_in_month(year, month))
    return date(year, month, day)


def month_series(anchor: date, offsets: Iterable[int]) -> Iterator[date]:
    """``add_months(anchor, offset)`` for each offset: a schedule's due dates in one pass."""
    base = anchor.year * 12 + anchor.month - 1
    day = anchor.day
    for offset in offsets:
        year, month_index = divmod(base + offset, 12)
        if not 1 <= year <= 9999:
            raise ValueError(f"{anchor} + {offset} months is outside the supported calendar")
        month = month_index + 1
        if day <= 28:
            yield date(year, month, day)
        else:
            yield date(year, month, min(day, days_in_month(year, month)))
