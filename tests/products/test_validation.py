from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from products.models import LoanProduct
from products.validation import validate_product_terms, worst_case_apr
from tests.factories import EDUCATION_TERMS, make_product


def _terms(**overrides):
    return LoanProduct(code="X", **{**EDUCATION_TERMS, **overrides})


def test_valid_education_terms_have_no_errors():
    assert validate_product_terms(_terms()) == {}


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"amount_min": Decimal("200000.00")}, "amount_max"),
        ({"term_min": 40}, "term_max"),
        ({"rate_default_percent": Decimal("9")}, "rate_default_percent"),
        ({"rate_default_percent": Decimal("5")}, "rate_default_percent"),
        ({"age_min": 60, "age_max": 55}, "age_max"),
        ({"amount_min": Decimal("0.00")}, "amount_min"),
        ({"repayment_methods": []}, "repayment_methods"),
        ({"repayment_methods": ["weekly"]}, "repayment_methods"),
        ({"purposes": []}, "purposes"),
        ({"purposes": ["gambling"]}, "purposes"),
        ({"upfront_fee_percent": Decimal("100")}, "upfront_fee_percent"),
        ({"penalty_rate_multiplier": Decimal("0.5")}, "penalty_rate_multiplier"),
    ],
)
def test_each_range_and_choice_error_names_its_field(overrides, field):
    errors = validate_product_terms(_terms(**overrides))
    assert field in errors, errors


def test_rate_range_message_says_the_numbers():
    errors = validate_product_terms(_terms(rate_default_percent=Decimal("9")))
    assert errors["rate_default_percent"] == [
        "The default rate (9 %) must lie between the minimum (6 %) and the maximum (8 %)."
    ]


def test_revolving_only_on_a_revolving_line():
    errors = validate_product_terms(_terms(repayment_methods=["revolving"]))
    assert errors["repayment_methods"] == [
        "Revolving daily interest (随借随还) is only allowed on a revolving line product."
    ]
    assert validate_product_terms(_terms(product_type="revolving_line", repayment_methods=["revolving"])) == {}


def test_monthly_methods_need_a_term_in_months():
    errors = validate_product_terms(_terms(term_unit="days", term_min=7, term_max=30))
    assert "repayment_methods" in errors
    ok = _terms(term_unit="days", term_min=7, term_max=30, repayment_methods=["bullet"])
    assert validate_product_terms(ok) == {}


def test_apr_cap_error_says_the_computed_apr():
    errors = validate_product_terms(_terms(rate_max_percent=Decimal("20"), upfront_fee_percent=Decimal("3")))
    assert errors == {"rate_max_percent": [
        "The worst-case APR is 31.00 % (Equal principal (等额本金), 6 months at the maximum rate of 20 % with an "
        "upfront fee of 3 %), above the APR cap of 24.00 %."
    ]}


def test_worst_case_is_the_shortest_term_with_the_fee():
    apr, case = worst_case_apr(_terms(term_min=3, rate_max_percent=Decimal("20"), upfront_fee_percent=Decimal("1.5")))
    assert (apr, case) == (Decimal("29.3690"), {"method": "equal_principal", "term": 3})


def test_daily_rates_are_annualised_for_the_cap():
    # 0.07 % a day × 360 = 25.2 % a year: above a 24 % cap even without a fee.
    terms = _terms(product_type="revolving_line", rate_basis="daily", rate_min_percent=Decimal("0.03"),
                   rate_default_percent=Decimal("0.05"), rate_max_percent=Decimal("0.07"),
                   repayment_methods=["revolving"], term_min=1, term_max=3)
    errors = validate_product_terms(terms)
    assert errors["rate_max_percent"][0].startswith("The worst-case APR is 25.20 %")


def test_a_higher_cap_lets_the_product_through():
    assert validate_product_terms(_terms(rate_max_percent=Decimal("20"), upfront_fee_percent=Decimal("3"),
                                         apr_cap_percent=Decimal("36"))) == {}


def test_publishing_an_over_cap_product_is_refused_and_leaves_it_draft(db):
    product = make_product(publish=False)
    LoanProduct.objects.filter(pk=product.pk).update(rate_max_percent=Decimal("30"))
    from products import services

    with pytest.raises(ValidationError) as info:
        services.product_publish(product=product, actor=None)
    assert "rate_max_percent" in info.value.message_dict
    product.refresh_from_db()
    assert product.status == "draft"
    assert product.versions.count() == 0
