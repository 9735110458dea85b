"""The pure repayment engine (还款方式试算): schedules for every repayment method and their APR.

No Django and no ORM: value objects in, value objects out, ``Decimal`` money rounded to
the fen. Servicing persists what this package computes; calculators and product previews
call it directly.

    terms = LoanTerms(principal=Decimal("100000.00"), annual_rate=Decimal("0.06"), term=12,
                      term_unit=TermUnit.MONTHS, method=Method.EQUAL_INSTALLMENT,
                      start_date=date(2025, 1, 15))
    schedule = generate_schedule(terms)   # 11 x 8,606.64, then 8,606.69
    compute_apr(schedule).nominal_percent  # Decimal("6.0000")
"""

from .apr import compute_apr
from .methods import generate_schedule
from .money import quantize_fen
from .rates import annual_to_daily, daily_to_annual
from .types import (
    AprResult,
    DayCount,
    Installment,
    LoanTerms,
    Method,
    Schedule,
    ScheduleError,
    TermUnit,
)

__all__ = [
    "AprResult",
    "DayCount",
    "Installment",
    "LoanTerms",
    "Method",
    "Schedule",
    "ScheduleError",
    "TermUnit",
    "annual_to_daily",
    "compute_apr",
    "daily_to_annual",
    "generate_schedule",
    "quantize_fen",
]
