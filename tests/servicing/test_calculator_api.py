from decimal import Decimal

import pytest

from tests.factories import make_product

URL = "/api/v1/calculator/schedule"
EXAMPLE = {"principal": "100000.00", "annual_rate_percent": "6.0", "term": 12, "term_unit": "months",
           "method": "equal_installment", "start_date": "2026-01-15"}


def test_example_equal_installment(api_client, db):
    response = api_client.post(URL, EXAMPLE, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert len(body["installments"]) == 12
    assert body["installments"][0] == {
        "number": 1, "due_date": "2026-02-15", "principal": "8106.64", "interest": "500.00", "fee": "0.00",
        "payment": "8606.64", "remaining_principal": "91893.36",
    }
    assert body["installments"][-1] == {
        "number": 12, "due_date": "2027-01-15", "principal": "8563.87", "interest": "42.82", "fee": "0.00",
        "payment": "8606.69", "remaining_principal": "0.00",
    }
    assert {p["payment"] for p in body["installments"][:-1]} == {"8606.64"}
    assert body["total_principal"] == "100000.00"
    assert body["total_interest"] == "3279.73"
    assert body["total_fee"] == "0.00"
    assert body["total_payment"] == "103279.73"
    assert body["apr_percent"] == "6.00"
    assert body["effective_annual_rate_percent"] == "6.17"
    assert body["product"] is None


def test_daily_rate_bullet_by_actual_days(api_client, db):
    response = api_client.post(URL, {"principal": "5000.00", "daily_rate_percent": "0.05", "term": 30,
                                     "term_unit": "days", "method": "bullet", "start_date": "2026-03-01"},
                               format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["installments"] == [{
        "number": 1, "due_date": "2026-03-31", "principal": "5000.00", "interest": "75.00", "fee": "0.00",
        "payment": "5075.00", "remaining_principal": "0.00",
    }]
    assert body["apr_percent"] == "18.00"


def test_upfront_fee_is_deducted_and_raises_the_apr(api_client, db):
    response = api_client.post(URL, {**EXAMPLE, "upfront_fee_percent": "2"}, format="json")
    body = response.json()
    assert body["upfront_fee"] == "2000.00"
    assert body["net_disbursed"] == "98000.00"
    assert body["total_fee"] == "2000.00"
    assert Decimal(body["apr_percent"]) > Decimal("6.00")


@pytest.mark.parametrize(
    "change, field",
    [
        ({"principal": "-5.00"}, "principal"),
        ({"principal": "abc"}, "principal"),
        ({"method": "weekly_balloon"}, "method"),
        ({"term": 0}, "term"),
        ({"term_unit": "years"}, "term_unit"),
        ({"start_date": "2026-02-30"}, "start_date"),
        ({"daily_rate_percent": "0.05"}, "daily_rate_percent"),
        ({"interest_every_months": 3}, "interest_every_months"),
        ({"upfront_fee_percent": "120"}, "upfront_fee_percent"),
        ({"product": "NOPE"}, "product"),
    ],
)
def test_bad_input_is_rejected_field_by_field(api_client, db, change, field):
    response = api_client.post(URL, {**EXAMPLE, **change}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body


def test_neither_rate_names_both_fields(api_client, db):
    data = {k: v for k, v in EXAMPLE.items() if k != "annual_rate_percent"}
    body = api_client.post(URL, data, format="json").json()
    assert set(body["errors"]) == {"annual_rate_percent", "daily_rate_percent"}


def test_several_bad_fields_are_all_reported(api_client, db):
    body = api_client.post(URL, {**EXAMPLE, "principal": "-1", "term": -3, "method": "x"}, format="json").json()
    assert {"principal", "term", "method"} <= set(body["errors"])


def test_monthly_method_with_days_term_names_term_unit(api_client, db):
    body = api_client.post(URL, {**EXAMPLE, "term_unit": "days", "term": 30}, format="json").json()
    assert "term_unit" in body["errors"]


def test_product_ranges_are_checked(api_client, db):
    make_product()  # EDUCATION: 10k–100k, 6–36 months, 6–8 %, equal installment / equal principal
    body = api_client.post(URL, {**EXAMPLE, "product": "EDUCATION", "principal": "150000.00", "term": 48,
                                 "annual_rate_percent": "9", "method": "bullet"}, format="json").json()
    assert set(body["errors"]) == {"principal", "term", "annual_rate_percent", "method"}


def test_product_conventions_are_used(api_client, db):
    make_product("EMG", product_type="revolving_line", amount_min=Decimal("1000.00"),
                 amount_max=Decimal("5000.00"), term_min=1, term_max=3, rate_basis="daily",
                 rate_min_percent=Decimal("0.03"), rate_default_percent=Decimal("0.04"),
                 rate_max_percent=Decimal("0.05"), day_count="ACT/365", repayment_methods=["revolving", "bullet"],
                 purposes=["emergency"], upfront_fee_percent=Decimal("0.2"))
    response = api_client.post(URL, {"product": "EMG", "principal": "5000.00", "daily_rate_percent": "0.05",
                                     "term": 1, "term_unit": "months", "method": "bullet",
                                     "start_date": "2026-03-01"}, format="json")
    body = response.json()
    assert response.status_code == 200, body
    # 31 actual days at 0.05 % a day: 5000 × 0.0005 × 31 = 77.50; the product's 0.2 % fee applies.
    assert body["installments"][0]["interest"] == "77.50"
    assert body["upfront_fee"] == "10.00"
    assert (body["product"], body["product_version"]) == ("EMG", 1)


def test_annual_rate_for_a_daily_product_is_refused(api_client, db):
    make_product("EMG2", product_type="revolving_line", amount_min=Decimal("1000.00"),
                 amount_max=Decimal("5000.00"), term_min=1, term_max=3, rate_basis="daily",
                 rate_min_percent=Decimal("0.03"), rate_default_percent=Decimal("0.04"),
                 rate_max_percent=Decimal("0.05"), repayment_methods=["bullet"], purposes=["emergency"])
    body = api_client.post(URL, {**EXAMPLE, "product": "EMG2", "principal": "3000.00", "term": 2,
                                 "method": "bullet"}, format="json").json()
    assert "annual_rate_percent" in body["errors"]


def test_calculator_is_in_the_openapi_schema(api_client, db):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/calculator/schedule" in schema["paths"]
    operation = schema["paths"]["/api/v1/calculator/schedule"]["post"]
    assert set(operation["responses"]) >= {"200", "400"}
    assert api_client.get("/api/docs/").status_code == 200
