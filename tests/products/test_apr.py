"""APR (年化利率, IRR method) of engine schedules, with exact figures.

Regular schedules are cross-checked against a plain bisection of the periodic IRR
written here, independent of the engine's solver.
"""

from datetime import date
from decimal import Decimal

import pytest

from products.engine import (
    DayCount,
    Installment,
    LoanTerms,
    Method,
    Schedule,
    TermUnit,
    compute_apr,
    generate_schedule,
)

D = Decimal


def loan(**overrides):
    values = dict(
        principal=D("100000.00"),
        annual_rate=D("0.06"),
        term=12,
        term_unit=TermUnit.MONTHS,
        method=Method.EQUAL_INSTALLMENT,
        start_date=date(2025, 1, 15),
    )
    values.update(overrides)
    return LoanTerms(**values)


def bisect_periodic_irr(schedule):
    """Periodic IRR of a regular schedule: payment k discounted k periods."""
    net = float(schedule.net_disbursed)
    payments = [float(row.payment) for row in schedule.installments]

    def npv(rate):
        return sum(p / (1 + rate) ** k for k, p in enumerate(payments, 1)) - net

    low, high = 0.0, 1.0
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if npv(middle) > 0 else (low, middle)
    return low


def test_fee_free_equal_installment_apr_is_the_contract_rate():
    schedule = generate_schedule(loan())

    apr = compute_apr(schedule)

    assert apr.nominal_percent == D("6.0000")
    assert apr.effective_percent == D("6.1678")  # 1.005^12 - 1
    assert apr.periods_per_year == 12
    assert abs(float(apr.periodic_irr) - bisect_periodic_irr(schedule)) < 1e-12
    assert apr.nominal_percent.as_tuple().exponent == -4


def test_upfront_fee_raises_the_apr_above_the_contract_rate():
    schedule = generate_schedule(loan(upfront_fee_rate=D("0.02")))

    apr = compute_apr(schedule)

    # 98,000.00 received for 11 x 8,606.64 + 8,606.69.
    assert apr.nominal_percent == D("9.8000")
    assert apr.effective_percent == D("10.2524")
    irr = bisect_periodic_irr(schedule)
    assert abs(float(apr.periodic_irr) - irr) < 1e-12
    assert abs(irr * 1200 - 9.8000) < 0.00005


def test_quarterly_interest_first_is_annualised_on_the_quarterly_grid():
    plain = compute_apr(
        generate_schedule(
            loan(annual_rate=D("0.08"), method=Method.INTEREST_FIRST, interest_every_months=3)
        )
    )
    with_fee = generate_schedule(
        loan(
            annual_rate=D("0.08"),
            method=Method.INTEREST_FIRST,
            interest_every_months=3,
            upfront_fee_rate=D("0.01"),
        )
    )

    assert (plain.nominal_percent, plain.effective_percent, plain.periods_per_year) == (
        D("8.0000"),
        D("8.2432"),  # 1.02^4 - 1
        4,
    )
    assert plain.periodic_irr == D("0.0200000000000000")
    fee_apr = compute_apr(with_fee)
    # 99,000.00 received for 2,000.00 x 3 and 102,000.00, one quarter apart.
    assert (fee_apr.nominal_percent, fee_apr.effective_percent) == (D("9.0572"), D("9.3695"))
    assert abs(float(fee_apr.periodic_irr) - bisect_periodic_irr(with_fee)) < 1e-12


def test_bullet_nominal_apr_is_the_simple_annual_rate():
    schedule = generate_schedule(
        loan(annual_rate=D("0.36"), term=30, term_unit=TermUnit.DAYS, method=Method.BULLET)
    )

    apr = compute_apr(schedule)

    assert schedule.installments[0].payment == D("103000.00")
    assert apr.nominal_percent == D("36.0000")
    # Compounded every 30 days over a 360-day year: 1.03^12 - 1.
    assert apr.effective_percent == D("42.5761")
    assert apr.periods_per_year == 360
    daily = 1.03 ** (1 / 30) - 1
    assert abs(float(apr.periodic_irr) - daily) < 1e-15
    # Why the nominal rate is not daily IRR x 360: that would show 35.47 % for a fee-free
    # loan whose contract rate is 36 %.
    assert round(daily * 360 * 100, 2) == 35.49


def test_bullet_with_fee():
    schedule = generate_schedule(
        loan(
            principal=D("10000.00"),
            annual_rate=D("0.18"),
            term=30,
            term_unit=TermUnit.DAYS,
            method=Method.BULLET,
            upfront_fee_rate=D("0.01"),
        )
    )

    apr = compute_apr(schedule)

    # 9,900.00 received, 10,150.00 repaid after 30 days: 250 / 9,900 x 12.
    assert (schedule.net_disbursed, schedule.installments[0].payment) == (
        D("9900.00"),
        D("10150.00"),
    )
    assert apr.nominal_percent == D("30.3030")
    assert apr.effective_percent == D("34.8870")  # (10150 / 9900)^12 - 1


def test_act_365_bullet_annualises_over_365_days():
    apr = compute_apr(
        generate_schedule(
            loan(
                principal=D("10000.00"),
                annual_rate=D("0.073"),
                term=100,
                term_unit=TermUnit.DAYS,
                method=Method.BULLET,
                day_count=DayCount.ACT_365,
            )
        )
    )

    assert apr.nominal_percent == D("7.3000")
    assert apr.periods_per_year == 365
    assert apr.effective_percent == D("7.4956")  # 1.02^(365/100) - 1


def test_revolving_preview_apr():
    apr = compute_apr(
        generate_schedule(
            loan(
                principal=D("3000.00"),
                annual_rate=D("0.108"),
                term=30,
                term_unit=TermUnit.DAYS,
                method=Method.REVOLVING,
            )
        )
    )

    assert apr.nominal_percent == D("10.8000")


def test_broken_first_period_apr_is_the_contract_rate():
    schedule = generate_schedule(loan(first_due_date=date(2025, 3, 1)))

    apr = compute_apr(schedule)

    # The 45-day first period counts as 1.5 months of simple interest; the unit period
    # stays the month, so nothing changes against the regular schedule.
    assert (apr.nominal_percent, apr.effective_percent) == (D("6.0000"), D("6.1678"))
    assert apr.periods_per_year == 12


def test_short_last_period_of_interest_first_apr_is_the_contract_rate():
    schedule = generate_schedule(
        loan(annual_rate=D("0.08"), term=10, method=Method.INTEREST_FIRST, interest_every_months=3)
    )

    assert compute_apr(schedule).nominal_percent == D("8.0000")


def test_zero_rate_without_fee_has_zero_apr():
    apr = compute_apr(generate_schedule(loan(annual_rate=D("0"))))

    assert (apr.nominal_percent, apr.effective_percent) == (D("0.0000"), D("0.0000"))


def test_360_installments():
    schedule = generate_schedule(
        loan(
            principal=D("1000000.00"), annual_rate=D("0.049"), term=360, upfront_fee_rate=D("0.01")
        )
    )

    apr = compute_apr(schedule)

    assert (apr.nominal_percent, apr.effective_percent) == (D("4.9880"), D("5.1036"))
    assert apr.periods_per_year == 12
    assert abs(float(apr.periodic_irr) - bisect_periodic_irr(schedule)) < 1e-12


def test_edited_schedule_is_annualised_on_its_own_dates():
    schedule = generate_schedule(loan(annual_rate=D("0.18"), term=1, method=Method.BULLET))
    (row,) = schedule.installments
    moved = Schedule(
        **{
            **{field: getattr(schedule, field) for field in Schedule.__slots__},
            "installments": (
                Installment(
                    number=1,
                    due_date=date(2025, 3, 17),  # 61 days instead of 31
                    principal=row.principal,
                    interest=row.interest,
                    fee=row.fee,
                    payment=row.payment,
                    remaining_principal=row.remaining_principal,
                ),
            ),
        }
    )

    # 1,550.00 interest over 61 days: 1.55 % x 360 / 61.
    assert compute_apr(moved).nominal_percent == D("9.1475")


def test_payments_below_the_disbursement_have_no_apr():
    schedule = generate_schedule(loan(annual_rate=D("0"), term=1))
    short = Schedule(
        **{
            **{field: getattr(schedule, field) for field in Schedule.__slots__},
            "net_disbursed": D("100000.01"),
        }
    )

    with pytest.raises(ValueError):
        compute_apr(short)


def test_solver_stops_at_the_float_noise_floor():
    # Both once made Newton ping-pong between two floats around the root.
    tiny_rate = compute_apr(
        generate_schedule(loan(principal=D("324868.27"), annual_rate=D("0.000002"), term=1))
    )
    one_month_fee = compute_apr(
        generate_schedule(
            loan(principal=D("38228.88"), annual_rate=D(0), term=1, upfront_fee_rate=D("0.001"))
        )
    )

    # 0.05 interest on 324,868.27 for a month: 0.05 / 324,868.27 x 12.
    assert tiny_rate.nominal_percent == D("0.0002")
    # 38,190.65 received, 38,228.88 repaid a month later: 38.23 / 38,190.65 x 12.
    assert one_month_fee.nominal_percent == D("1.2012")
