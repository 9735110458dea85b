"""Limit and pricing strategies: exact limits (income, product cap, DTI cap, rounding down, bands)
and exact prices (band position, APR cap: clamp or refer)."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk.strategies import LimitSpec, LoanRequest, PricingSpec, apr_for, compute_limit, compute_price, monthly_burden

D = Decimal
PRODUCT = dict(amount_min=D("10000.00"), amount_max=D("100000.00"), rate_min_percent=D("6"), rate_max_percent=D("8"),
               rate_basis="annual", day_count="ACT/360", upfront_fee_percent=D("0"), interest_every_months=1,
               apr_cap_percent=D("24"))
EDUCATION = SimpleNamespace(**PRODUCT)
REQUEST = LoanRequest(amount=D("20000.00"), term=12, term_unit="months", method="equal_installment",
                      start_date=date(2026, 1, 15))
LIMITS = LimitSpec.from_definition({"code": "L", "step": "100", "dti_ceiling": "0.55", "bands": [
    {"grade": "A", "income_min": "0", "income_max": None, "multiple": "8"},
    {"grade": "C", "income_min": "0", "income_max": "20000", "multiple": "4"},
    {"grade": "C", "income_min": "20000", "income_max": None, "multiple": "5"},
]}, version_id=1, version=1)
PRICES = PricingSpec.from_definition({"code": "P", "rate_step": "0.01", "positions": {"A": "0", "C": "50", "D": "100"}},
                                     version_id=1, version=1)


def limit(grade, income, debt="0", spec=LIMITS, product=EDUCATION):
    return compute_limit(spec, grade=grade, monthly_income=D(income), monthly_debt_payment=D(debt), product=product,
                         request=REQUEST)


def test_the_dti_cap_uses_the_product_maximum_rate_for_the_requested_terms():
    # 10,000 over 12 months at 8 % (equal installment): 869.88 a month.
    assert monthly_burden(EDUCATION, REQUEST, rate_percent=D("8")) == D("869.88")


@pytest.mark.parametrize("grade, income, debt, expected, binding", [
    ("C", "10000", "0", "40000.00", "income"),  # 10,000 × 4
    ("C", "10123", "0", "40400.00", "income"),  # 40,492 rounded DOWN to the 100 step
    ("A", "30000", "0", "100000.00", "product"),  # 240,000 capped by the product maximum
    # room 10,000 × 55 % − 4,000 = 1,500 a month → 1,500 / 869.88 × 10,000 = 17,243.75 → 17,200
    ("C", "10000", "4000", "17200.00", "dti"),
    ("C", "20000", "0", "100000.00", "income"),  # the upper band (from 20,000, exclusive below): × 5
])
def test_limits(grade, income, debt, expected, binding):
    result = limit(grade, income, debt)
    assert (result.limit, result.outcome, result.reason_code, result.detail["binding"]) == (
        D(expected), "approve", "", binding)


def test_limit_detail_shows_every_cap():
    assert limit("C", "10000", "4000").detail == {
        "band": {"grade": "C", "income_min": "0", "income_max": "20000", "multiple": "4"},
        "caps": {"income": "40000.00", "product": "100000.00", "dti": "17243.75"}, "binding": "dti", "step": "100"}


def test_a_limit_below_the_product_minimum_rejects_or_refers():
    result = limit("C", "2000")
    assert (result.limit, result.outcome, result.reason_code) == (D("8000.00"), "reject", "LIMIT_BELOW_MINIMUM")
    lenient = LimitSpec(**{**LIMITS.__dict__, "below_minimum_outcome": "refer"})
    assert limit("C", "2000", spec=lenient).outcome == "refer"
    # Existing debt already above the ceiling: no room at all.
    result = limit("C", "10000", "6000")
    assert (result.limit, result.outcome, result.detail["caps"]["dti"]) == (D("0.00"), "reject", "0.00")


def test_a_grade_without_a_band_refers():
    result = limit("E", "10000")
    assert (result.limit, result.outcome, result.reason_code) == (D("0.00"), "refer", "LIMIT_NO_BAND")


@given(income=st.decimals(min_value=0, max_value=200000, places=2),
       debt=st.decimals(min_value=0, max_value=50000, places=2))
def test_limits_are_whole_steps_within_every_cap(income, debt):
    result = limit("C", str(income), str(debt))
    assert result.limit % 100 == 0
    assert result.limit <= EDUCATION.amount_max
    assert result.limit <= income * (4 if income < 20000 else 5)
    if result.outcome == "approve":
        assert result.limit >= EDUCATION.amount_min


def price(grade, spec=PRICES, product=EDUCATION, request=REQUEST):
    return compute_price(spec, grade=grade, product=product, request=request, principal=D("20000.00"))


def test_prices_sit_at_the_grades_position_in_the_product_band():
    assert [(price(g).rate_percent, price(g).apr_percent, price(g).outcome) for g in "ACD"] == [
        (D("6.00"), D("6.0001"), "approve"), (D("7.00"), D("6.9999"), "approve"), (D("8.00"), D("8.0000"), "approve")]


def test_daily_rate_products_are_priced_in_their_own_basis():
    emergency = SimpleNamespace(**{**PRODUCT, "amount_min": D("1000"), "amount_max": D("5000"), "rate_basis": "daily",
                                   "rate_min_percent": D("0.03"), "rate_max_percent": D("0.05")})
    request = LoanRequest(amount=D("3000.00"), term=3, term_unit="months", method="bullet",
                          start_date=date(2026, 1, 15))
    spec = PricingSpec.from_definition({"code": "P", "rate_step": "0.0001", "positions": {"B": "25"}}, version_id=1,
                                       version=1)
    result = compute_price(spec, grade="B", product=emergency, request=request, principal=D("3000.00"))
    assert (result.rate_percent, result.apr_percent, result.outcome) == (D("0.0350"), D("12.6000"), "approve")


def test_an_apr_above_the_cap_is_clamped_to_the_highest_rate_under_it():
    with_fee = SimpleNamespace(**{**PRODUCT, "rate_max_percent": D("12"), "upfront_fee_percent": D("5"),
                                  "apr_cap_percent": D("20")})
    result = price("D", product=with_fee)
    assert (result.rate_percent, result.apr_percent, result.outcome, result.reason_code) == (
        D("10.18"), D("19.9932"), "approve", "RATE_CLAMPED_TO_APR_CAP")
    assert result.detail["apr_at_position"] == "21.8559"
    # One step more would break the cap.
    assert apr_for(with_fee, REQUEST, rate_percent=D("10.19"), principal=D("20000.00")) == D("20.0034")


def test_an_apr_above_the_cap_refers_when_the_strategy_says_so_or_nothing_fits():
    with_fee = SimpleNamespace(**{**PRODUCT, "rate_max_percent": D("12"), "upfront_fee_percent": D("5"),
                                  "apr_cap_percent": D("20")})
    refer = PricingSpec(**{**PRICES.__dict__, "on_apr_breach": "refer"})
    result = price("D", spec=refer, product=with_fee)
    assert (result.rate_percent, result.apr_percent, result.outcome, result.reason_code) == (
        D("12.00"), D("21.8559"), "refer", "APR_ABOVE_CAP")
    hopeless = SimpleNamespace(**{**PRODUCT, "upfront_fee_percent": D("20"), "apr_cap_percent": D("15")})
    result = price("A", product=hopeless)
    assert (result.outcome, result.reason_code, result.apr_percent) == ("refer", "APR_ABOVE_CAP", D("49.9961"))


def test_a_grade_without_a_position_refers():
    result = price("B")
    assert (result.rate_percent, result.outcome, result.reason_code) == (None, "refer", "PRICING_NO_GRADE")


def test_terms_the_engine_cannot_schedule_refer():
    days = LoanRequest(amount=D("20000.00"), term=12, term_unit="days", method="equal_installment",
                       start_date=date(2026, 1, 15))
    result = price("C", request=days)
    assert (result.outcome, result.reason_code) == ("refer", "TERMS_INVALID")
