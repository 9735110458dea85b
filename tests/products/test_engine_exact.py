"""Exact schedules of the repayment engine, one or more per repayment method.

Expected figures were worked out independently of the engine (exact fractions, half-up
rounding to the fen) and the headline ones are cross-checked in the tests themselves.
"""

import pickle
from dataclasses import replace
from datetime import date
from decimal import ROUND_DOWN, Decimal, localcontext

import pytest

from products.engine import (
    DayCount,
    LoanTerms,
    Method,
    ScheduleError,
    TermUnit,
    annual_to_daily,
    daily_to_annual,
    generate_schedule,
    quantize_fen,
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


def rows(schedule):
    """(due date, principal, interest, payment, remaining) per installment."""
    return [
        (row.due_date, row.principal, row.interest, row.payment, row.remaining_principal)
        for row in schedule.installments
    ]


# --- equal installment (等额本息) ---------------------------------------------------


def test_equal_installment_100k_at_6_percent_over_12_months():
    schedule = generate_schedule(loan())

    # Independent check of the annuity: P r / (1 - (1 + r)^-n) in floating point.
    annuity = 100_000 * 0.005 / (1 - 1.005**-12)
    assert abs(annuity - 8606.64) < 0.005

    table = rows(schedule)
    assert len(table) == 12
    assert table[0] == (date(2025, 2, 15), D("8106.64"), D("500.00"), D("8606.64"), D("91893.36"))
    assert table[1] == (date(2025, 3, 15), D("8147.17"), D("459.47"), D("8606.64"), D("83746.19"))
    assert table[10] == (date(2025, 12, 15), D("8521.21"), D("85.43"), D("8606.64"), D("8563.87"))
    # The last installment takes the rounding rest: 5 fen more than the others.
    assert table[11] == (date(2026, 1, 15), D("8563.87"), D("42.82"), D("8606.69"), D("0.00"))
    assert {row.payment for row in schedule.installments[:-1]} == {D("8606.64")}
    assert {row.fee for row in schedule.installments} == {D("0.00")}

    assert schedule.total_principal == D("100000.00")
    assert schedule.total_interest == D("3279.73")
    assert schedule.total_payment == D("103279.73") == 11 * D("8606.64") + D("8606.69")
    assert schedule.total_fee == D("0.00")
    assert schedule.upfront_fee == D("0.00")
    assert schedule.net_disbursed == D("100000.00")
    assert schedule.maturity_date == date(2026, 1, 15)


def test_equal_installment_at_zero_rate_splits_principal_and_last_takes_the_rest():
    schedule = generate_schedule(loan(principal=D("1000.00"), annual_rate=D("0"), term=3))

    assert [row.payment for row in schedule.installments] == [D("333.33"), D("333.33"), D("333.34")]
    assert schedule.total_interest == D("0.00")


def test_equal_installment_tiny_principal_over_long_term_never_overshoots():
    # round(100.00 / 360) = 0.28 and 359 x 0.28 = 100.52 > 100.00: the payment falls to
    # the largest fen amount leaving a positive rest, 0.27 (359 x 0.27 = 96.93).
    schedule = generate_schedule(loan(principal=D("100.00"), annual_rate=D("0"), term=360))

    assert {row.payment for row in schedule.installments[:-1]} == {D("0.27")}
    assert schedule.installments[-1].payment == D("3.07")
    assert schedule.total_principal == D("100.00")


def test_equal_installment_rounding_can_make_a_tiny_annuity_interest_only():
    # 100.00 at 36 % over 360 months: the exact annuity is 3.00007, so the fen payment
    # 3.00 only covers the interest and the principal is all repaid at the end.
    schedule = generate_schedule(loan(principal=D("100.00"), annual_rate=D("0.36"), term=360))

    assert {(row.principal, row.interest) for row in schedule.installments[:-1]} == {
        (D("0.00"), D("3.00"))
    }
    assert schedule.installments[-1].payment == D("103.00")


# --- equal principal (等额本金) -----------------------------------------------------


def test_equal_principal_with_exact_parts():
    schedule = generate_schedule(
        loan(principal=D("120000.00"), method=Method.EQUAL_PRINCIPAL, start_date=date(2025, 3, 15))
    )

    assert {row.principal for row in schedule.installments} == {D("10000.00")}
    # Interest 1 % a month on 120,000, 110,000, ..., 10,000.
    assert [row.interest for row in schedule.installments] == [
        D(600 - 50 * k).quantize(D("0.01")) for k in range(12)
    ]
    assert schedule.installments[0].payment == D("10600.00")
    assert schedule.installments[-1].payment == D("10050.00")
    assert schedule.total_interest == D("3900.00")
    assert schedule.installments[-1].due_date == date(2026, 3, 15)


def test_equal_principal_last_part_takes_the_rounding_rest():
    schedule = generate_schedule(
        loan(annual_rate=D("0.08"), method=Method.EQUAL_PRINCIPAL, start_date=date(2025, 1, 31))
    )

    table = rows(schedule)
    assert table[0] == (date(2025, 2, 28), D("8333.33"), D("666.67"), D("9000.00"), D("91666.67"))
    assert table[1] == (date(2025, 3, 31), D("8333.33"), D("611.11"), D("8944.44"), D("83333.34"))
    assert table[11] == (date(2026, 1, 31), D("8333.37"), D("55.56"), D("8388.93"), D("0.00"))
    assert schedule.total_interest == D("4333.34")


# --- interest first (先息后本) ------------------------------------------------------


def test_interest_first_monthly():
    schedule = generate_schedule(
        loan(principal=D("50000.00"), annual_rate=D("0.072"), term=6, method=Method.INTEREST_FIRST)
    )

    assert [(row.principal, row.interest) for row in schedule.installments] == [
        (D("0.00"), D("300.00"))
    ] * 5 + [(D("50000.00"), D("300.00"))]
    assert schedule.installments[-1].payment == D("50300.00")
    assert schedule.total_interest == D("1800.00")


def test_interest_first_quarterly_business_loan():
    schedule = generate_schedule(
        loan(annual_rate=D("0.08"), method=Method.INTEREST_FIRST, interest_every_months=3)
    )

    assert rows(schedule) == [
        (date(2025, 4, 15), D("0.00"), D("2000.00"), D("2000.00"), D("100000.00")),
        (date(2025, 7, 15), D("0.00"), D("2000.00"), D("2000.00"), D("100000.00")),
        (date(2025, 10, 15), D("0.00"), D("2000.00"), D("2000.00"), D("100000.00")),
        (date(2026, 1, 15), D("100000.00"), D("2000.00"), D("102000.00"), D("0.00")),
    ]
    assert schedule.total_interest == D("8000.00")
    assert schedule.total_payment == D("108000.00")


def test_interest_first_quarterly_with_a_term_not_a_multiple_ends_in_a_short_period():
    schedule = generate_schedule(
        loan(annual_rate=D("0.08"), term=10, method=Method.INTEREST_FIRST, interest_every_months=3)
    )

    assert [(row.due_date, row.interest) for row in schedule.installments] == [
        (date(2025, 4, 15), D("2000.00")),
        (date(2025, 7, 15), D("2000.00")),
        (date(2025, 10, 15), D("2000.00")),
        (date(2025, 11, 15), D("666.67")),  # one month: 100,000 x 8 % / 12
    ]
    assert schedule.installments[-1].principal == D("100000.00")


# --- bullet (一次性还本付息) and revolving (随借随还) -----------------------------------


def test_bullet_in_months_charges_the_actual_days():
    schedule = generate_schedule(
        loan(
            principal=D("10000.00"),
            annual_rate=D("0.18"),
            term=1,
            method=Method.BULLET,
            start_date=date(2025, 1, 31),
        )
    )

    # Jan 31 + 1 month clamps to Feb 28: 28 days x 10,000 x 18 % / 360 = 140.00.
    assert rows(schedule) == [
        (date(2025, 2, 28), D("10000.00"), D("140.00"), D("10140.00"), D("0.00"))
    ]


def test_bullet_in_days_at_a_daily_rate():
    annual = daily_to_annual(D("0.0005"))  # 0.05 % a day
    schedule = generate_schedule(
        loan(
            principal=D("5000.00"),
            annual_rate=annual,
            term=45,
            term_unit=TermUnit.DAYS,
            method=Method.BULLET,
        )
    )

    assert annual == D("0.18")
    # 45 days x 5,000 x 0.05 % = 112.50.
    assert rows(schedule) == [
        (date(2025, 3, 1), D("5000.00"), D("112.50"), D("5112.50"), D("0.00"))
    ]


def test_bullet_act_365():
    schedule = generate_schedule(
        loan(
            principal=D("10000.00"),
            annual_rate=D("0.073"),
            term=100,
            term_unit=TermUnit.DAYS,
            method=Method.BULLET,
            day_count=DayCount.ACT_365,
        )
    )

    # 100 days x 10,000 x 7.3 % / 365 = 200.00.
    assert schedule.installments[0].interest == D("200.00")
    assert schedule.installments[0].due_date == date(2025, 4, 25)


def test_revolving_preview_is_one_draw_repaid_at_the_end_of_the_term():
    annual = daily_to_annual(D("0.0003"))  # 0.03 % a day
    by_days = generate_schedule(
        loan(
            principal=D("3000.00"),
            annual_rate=annual,
            term=30,
            term_unit=TermUnit.DAYS,
            method=Method.REVOLVING,
        )
    )
    by_months = generate_schedule(
        loan(
            principal=D("3000.00"),
            annual_rate=annual,
            term=2,
            method=Method.REVOLVING,
            start_date=date(2025, 12, 31),
        )
    )

    assert rows(by_days) == [(date(2025, 2, 14), D("3000.00"), D("27.00"), D("3027.00"), D("0.00"))]
    # Dec 31 + 2 months clamps to Feb 28: 59 days x 0.9 = 53.10.
    assert rows(by_months) == [
        (date(2026, 2, 28), D("3000.00"), D("53.10"), D("3053.10"), D("0.00"))
    ]


# --- due dates -----------------------------------------------------------------


def test_due_dates_clamp_to_month_end_and_stay_anchored_on_the_start_day():
    leap = generate_schedule(loan(term=4, start_date=date(2028, 1, 31)))
    common = generate_schedule(loan(term=4, start_date=date(2027, 1, 31)))

    assert [row.due_date for row in leap.installments] == [
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
        date(2028, 5, 31),
    ]
    assert [row.due_date for row in common.installments][:2] == [
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]


def test_first_due_date_makes_a_broken_first_period_charged_by_actual_days():
    schedule = generate_schedule(
        loan(
            principal=D("12000.00"),
            annual_rate=D("0.12"),
            method=Method.EQUAL_PRINCIPAL,
            start_date=date(2025, 1, 10),
            first_due_date=date(2025, 2, 20),
        )
    )

    table = rows(schedule)
    # Jan 10 -> Feb 20 is 41 days: 12,000 x 12 % / 360 x 41 = 164.00.
    assert table[0] == (date(2025, 2, 20), D("1000.00"), D("164.00"), D("1164.00"), D("11000.00"))
    # Later periods at 1 % a month on the balance.
    assert table[1] == (date(2025, 3, 20), D("1000.00"), D("110.00"), D("1110.00"), D("10000.00"))
    assert table[11] == (date(2026, 1, 20), D("1000.00"), D("10.00"), D("1010.00"), D("0.00"))


def test_first_due_date_on_equal_installment_changes_only_the_first_payment():
    regular = generate_schedule(loan())
    broken = generate_schedule(loan(first_due_date=date(2025, 3, 1)))

    first = broken.installments[0]
    # Regular principal part; interest for Jan 15 -> Mar 1, 45 days: 100,000 x 6 % / 360 x 45.
    assert (first.due_date, first.principal, first.interest, first.payment) == (
        date(2025, 3, 1),
        D("8106.64"),
        D("750.00"),
        D("8856.64"),
    )
    assert [row.due_date for row in broken.installments][1:3] == [
        date(2025, 4, 1),
        date(2025, 5, 1),
    ]
    assert broken.installments[-1].due_date == date(2026, 2, 1)
    assert [
        (row.principal, row.interest, row.payment, row.remaining_principal)
        for row in broken.installments[1:]
    ] == [
        (row.principal, row.interest, row.payment, row.remaining_principal)
        for row in regular.installments[1:]
    ]
    assert broken.total_interest == regular.total_interest + D("250.00")


def test_first_due_date_on_the_regular_date_is_not_a_broken_period():
    regular = generate_schedule(loan(start_date=date(2025, 1, 31)))
    same = generate_schedule(loan(start_date=date(2025, 1, 31), first_due_date=date(2025, 2, 28)))

    # Still anchored on the 31st: Feb 28, Mar 31, ...
    assert rows(same) == rows(regular)
    assert same.installments[1].due_date == date(2025, 3, 31)


def test_first_due_date_anchors_later_due_dates_on_its_own_day():
    schedule = generate_schedule(
        loan(term=3, start_date=date(2025, 1, 5), first_due_date=date(2025, 1, 31))
    )

    assert [row.due_date for row in schedule.installments] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
    ]
    # 26 days: 100,000 x 6 % / 360 x 26 = 433.33.
    assert schedule.installments[0].interest == D("433.33")


# --- fees ----------------------------------------------------------------------


def test_upfront_fee_is_withheld_from_the_disbursement():
    plain = generate_schedule(loan())
    with_fee = generate_schedule(loan(upfront_fee_rate=D("0.02")))

    assert with_fee.upfront_fee == D("2000.00")
    assert with_fee.net_disbursed == D("98000.00")
    assert with_fee.total_fee == D("2000.00")
    assert with_fee.installments == plain.installments
    assert with_fee.total_payment == plain.total_payment == D("103279.73")


def test_upfront_fee_rounds_half_up_to_the_fen():
    schedule = generate_schedule(loan(principal=D("1234.50"), upfront_fee_rate=D("0.01")))

    assert schedule.upfront_fee == D("12.35")  # 12.345
    assert schedule.net_disbursed == D("1222.15")


# --- inputs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"principal": D("0")}, "principal"),
        ({"principal": D("-1.00")}, "principal"),
        ({"principal": D("100.005")}, "principal"),
        ({"principal": 1000.0}, "principal"),
        ({"principal": D("NaN")}, "principal"),
        ({"term": 0}, "term"),
        ({"term": 601}, "term"),
        ({"term": 2.5}, "term"),
        ({"annual_rate": D("-0.01")}, "annual_rate"),
        ({"annual_rate": D("10")}, "annual_rate"),
        ({"annual_rate": 0.06}, "annual_rate"),
        ({"method": "balloon"}, "method"),
        ({"term_unit": "weeks"}, "term_unit"),
        ({"term_unit": TermUnit.DAYS}, "term_unit"),
        ({"method": Method.EQUAL_PRINCIPAL, "term_unit": TermUnit.DAYS}, "term_unit"),
        ({"method": Method.INTEREST_FIRST, "term_unit": TermUnit.DAYS}, "term_unit"),
        ({"method": Method.INTEREST_FIRST, "interest_every_months": 2}, "interest_every_months"),
        ({"method": Method.INTEREST_FIRST, "interest_every_months": 0}, "interest_every_months"),
        ({"interest_every_months": 2}, "interest_every_months"),
        ({"upfront_fee_rate": D("-0.01")}, "upfront_fee_rate"),
        ({"upfront_fee_rate": D("1")}, "upfront_fee_rate"),
        ({"principal": D("0.01"), "upfront_fee_rate": D("0.9")}, "upfront_fee_rate"),
        ({"first_due_date": date(2025, 1, 15)}, "first_due_date"),
        ({"first_due_date": date(2025, 1, 1)}, "first_due_date"),
        ({"first_due_date": date(2025, 3, 16)}, "first_due_date"),
        ({"method": Method.BULLET, "first_due_date": date(2025, 2, 1)}, "first_due_date"),
        ({"start_date": "2025-01-15"}, "start_date"),
        ({"day_count": "30/360"}, "day_count"),
        ({"method": Method.BULLET, "term_unit": TermUnit.DAYS, "term": 3661}, "term"),
        ({"start_date": date(9999, 1, 1)}, "term"),
    ],
)
def test_invalid_terms_name_the_field(overrides, field):
    with pytest.raises(ScheduleError) as caught:
        loan(**overrides)

    assert caught.value.field == field
    assert str(caught.value) == caught.value.message != ""


def test_first_due_date_may_be_up_to_one_period_and_a_month_away():
    monthly = generate_schedule(loan(first_due_date=date(2025, 3, 15)))
    quarterly = generate_schedule(
        loan(
            method=Method.INTEREST_FIRST, interest_every_months=3, first_due_date=date(2025, 5, 15)
        )
    )

    assert monthly.installments[0].due_date == date(2025, 3, 15)
    assert quarterly.installments[0].due_date == date(2025, 5, 15)


def test_quarterly_interest_interval_is_ignored_by_other_methods():
    # A product offering interest-first and equal installment carries one interval.
    assert rows(generate_schedule(loan(interest_every_months=3))) == rows(generate_schedule(loan()))


def test_schedule_error_is_a_value_error_that_survives_pickling():
    error = ScheduleError("term", "must be a whole number of at least 1")

    copy = pickle.loads(pickle.dumps(error))

    assert isinstance(copy, ValueError)
    assert (copy.field, copy.message) == ("term", "must be a whole number of at least 1")


def test_choice_strings_are_accepted_for_the_enums():
    terms = loan(method="interest_first", term_unit="months", day_count="ACT/365")

    assert (terms.method, terms.term_unit, terms.day_count) == (
        Method.INTEREST_FIRST,
        TermUnit.MONTHS,
        DayCount.ACT_365,
    )


def test_principal_is_normalised_to_the_fen():
    assert loan(principal=D("5000")).principal.as_tuple().exponent == -2
    assert loan(principal=5000).principal == D("5000.00")


def test_terms_are_not_mutable():
    with pytest.raises(AttributeError):
        loan().term = 24  # type: ignore[misc]
    assert replace(loan(), term=24).term == 24


def test_results_do_not_depend_on_the_global_decimal_context():
    expected = rows(generate_schedule(loan()))

    with localcontext() as ctx:
        ctx.prec = 5
        ctx.rounding = ROUND_DOWN
        assert rows(generate_schedule(loan())) == expected
        assert quantize_fen(D("2.675")) == D("2.68")


# --- helpers -------------------------------------------------------------------


def test_quantize_fen_rounds_half_up():
    assert quantize_fen(D("0.005")) == D("0.01")
    assert quantize_fen(D("0.0049999")) == D("0.00")
    assert quantize_fen(D("-0.005")) == D("-0.01")
    assert quantize_fen(D("12")) == D("12.00")
    with pytest.raises(TypeError):
        quantize_fen(0.1)


def test_rate_conversions_use_the_day_count():
    assert daily_to_annual(D("0.0005")) == D("0.18")
    assert daily_to_annual(D("0.0002"), day_count=DayCount.ACT_365) == D("0.073")
    assert annual_to_daily(D("0.18")) == D("0.0005")
    assert annual_to_daily(D("0.073"), day_count=DayCount.ACT_365) == D("0.0002")
    assert DayCount.ACT_360.days_in_year == 360
    assert DayCount.ACT_365.days_in_year == 365
