"""``GET /api/v1/loans/{id}`` and ``GET /api/v1/loans``: the issue's field names, exact figures,
filters, partner scoping (another partner's loan answers 404), query counts, the OpenAPI schema."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from servicing.models import Loan
from servicing.services.calendar import business_date_set
from servicing.services.loans import loan_book
from tests.factories import make_product
from tests.partners.factories import issue_key, make_partner, partner_client
from tests.partners.scoping_matrix import ScopedEndpoint, assert_lists_exclude, assert_partner_isolation
from tests.servicing.factories import make_drawdown, make_funder, make_line

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def world():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    product = make_product("EDUCATION")
    acme, other = make_partner("ACME", products=[product]), make_partner("OTHER", products=[product])
    line = make_line(product=product, partner=acme, rate_percent=D("7"))
    a, b = make_funder("bank-a", kind="co_lender"), make_funder("bank-b", kind="co_lender")
    loan = loan_book(drawdown=make_drawdown(line=line, funders=[(a, D(30)), (b, D(70))]))
    theirs = loan_book(drawdown=make_drawdown(line=make_line(product=product, partner=other, sequence="124")))
    return {"loan": loan, "line": line, "theirs": theirs,
            "acme": partner_client(issue_key(acme)), "other": partner_client(issue_key(other))}


def test_a_loan_with_the_issues_field_names_and_exact_figures(world):
    loan, line = world["loan"], world["line"]
    response = world["acme"].get(f"/api/v1/loans/{loan.pk}")
    assert response.status_code == 200
    data = response.json()
    assert list(data) == ["id", "number", "drawdown", "credit_line", "product", "status", "principal", "value_date",
                          "maturity_date", "rate_percent", "rate_basis", "repayment_method", "term", "term_unit",
                          "upfront_fee", "apr_percent", "dpd", "balances", "funding", "installments", "collection"]
    assert data["balances"] == {"principal_outstanding": "20000.00", "principal_overdue": "0.00",
                                "interest_overdue": "0.00", "penalty_outstanding": "0.00", "fee_outstanding": "0.00",
                                "total_payable": "0.00", "credit_balance": "0.00"}
    assert data["collection"] == {"case": None, "status": None, "bucket": None, "classification": "normal"}
    assert {k: v for k, v in data.items() if k not in ("funding", "installments", "balances", "collection")} == {
        "id": loan.pk, "number": loan.number, "drawdown": loan.drawdown_id, "credit_line": line.pk,
        "product": "EDUCATION", "status": "active", "principal": "20000.00", "value_date": "2026-12-04",
        "maturity_date": "2027-12-04", "rate_percent": "7.000000", "rate_basis": "annual",
        "repayment_method": "equal_installment", "term": 12, "term_unit": "months", "upfront_fee": "0.00",
        "apr_percent": "6.999900", "dpd": 0}
    assert data["funding"] == [{"funder": "bank-b", "share_percent": "70.000000", "principal": "14000.00"},
                               {"funder": "bank-a", "share_percent": "30.000000", "principal": "6000.00"}]
    assert len(data["installments"]) == 12
    unpaid = {"penalty": "0.00", "paid_principal": "0.00", "paid_interest": "0.00", "paid_fee": "0.00",
              "paid_penalty": "0.00", "status": "pending"}
    assert data["installments"][0] == {"number": 1, "due_date": "2027-01-04", "principal": "1613.86",
                                       "interest": "116.67", "fee": "0.00", "payment": "1730.53",
                                       "remaining_principal": "18386.14", **unpaid}
    assert data["installments"][-1] == {"number": 12, "due_date": "2027-12-04", "principal": "1720.54",
                                        "interest": "10.04", "fee": "0.00", "payment": "1730.58",
                                        "remaining_principal": "0.00", **unpaid}


def test_the_list_filters_by_credit_line_and_status(world):
    loan, line, client = world["loan"], world["line"], world["acme"]
    second = loan_book(drawdown=make_drawdown(line=line, amount=D("10000.00"), term=6))
    Loan.objects.filter(pk=second.pk).update(status="closed")
    assert [row["id"] for row in client.get("/api/v1/loans").json()["results"]] == [second.pk, loan.pk]
    assert [row["id"] for row in client.get("/api/v1/loans", {"status": "active"}).json()["results"]] == [loan.pk]
    paid_off = client.get("/api/v1/loans", {"status": "paid_off", "credit_line": line.pk}).json()["results"]
    assert [(row["id"], row["status"]) for row in paid_off] == [(second.pk, "paid_off")]
    assert client.get("/api/v1/loans", {"credit_line": world["theirs"].credit_line_id}).json()["results"] == []


@pytest.mark.parametrize("params, field", [({"status": "closed"}, "status"), ({"credit_line": "x"}, "credit_line"),
                                           ({"credit_line": "０"}, "credit_line")])
def test_bad_filters_answer_400_naming_the_field(world, params, field):
    response = world["acme"].get("/api/v1/loans", params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_the_list_costs_the_same_queries_for_one_loan_or_many(world):
    client, line = world["acme"], world["line"]
    client.get("/api/v1/loans")  # the key's first use of the day is recorded once
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/loans")
    for _ in range(3):
        loan_book(drawdown=make_drawdown(line=line, amount=D("10000.00")))
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/loans").json()["results"]) == 4
    assert len(many) == len(one)


def test_another_partners_loan_answers_404_and_is_not_listed(world):
    assert_partner_isolation(owner=world["acme"], intruder=world["other"],
                             endpoints=[ScopedEndpoint("GET", "/api/v1/loans/{loan}")], ids={"loan": world["loan"].pk})
    assert_lists_exclude(intruder=world["other"], urls=["/api/v1/loans", f"/api/v1/loans?credit_line={world['line'].pk}"],
                         foreign_ids=[world["loan"].pk])
    assert [row["id"] for row in world["other"].get("/api/v1/loans").json()["results"]] == [world["theirs"].pk]
    missing = world["acme"].get("/api/v1/loans/999999")
    assert (missing.status_code, missing.json()) == (404, {"code": "not_found", "message": "Not found.", "errors": {}})


def test_without_a_key_the_loans_answer_401(world):
    from rest_framework.test import APIClient

    assert APIClient().get(f"/api/v1/loans/{world['loan'].pk}").status_code == 401
    assert APIClient().get("/api/v1/loans").status_code == 401


def test_the_loans_are_in_the_openapi_schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    detail, listing = document["paths"]["/api/v1/loans/{id}"]["get"], document["paths"]["/api/v1/loans"]["get"]
    assert (detail["operationId"], listing["operationId"]) == ("loans_retrieve", "loans_list")
    assert set(detail["responses"]) == {"200", "401", "404", "429"}
    assert set(listing["responses"]) == {"200", "400", "401", "429"}
    assert {p["name"] for p in listing["parameters"]} == {"credit_line", "status", "limit", "offset"}
    loan = document["components"]["schemas"]["LoanOutput"]["properties"]
    assert list(loan) == ["id", "number", "drawdown", "credit_line", "product", "status", "principal", "value_date",
                          "maturity_date", "rate_percent", "rate_basis", "repayment_method", "term", "term_unit",
                          "upfront_fee", "apr_percent", "dpd", "balances", "funding", "installments", "collection"]


def test_the_written_out_installment_matches_the_generic_rendering(world):
    """``LoanInstallmentSerializer.to_representation`` is written out for speed (bench/loan_get.py):
    it must render what DRF's field machinery would, field for field, paid and unpaid parts."""
    from rest_framework import serializers as drf

    from servicing.api_loans import LoanInstallmentSerializer
    from servicing.models import Installment

    loan = world["loan"]
    Installment.objects.filter(loan=loan, number=1).update(principal_paid=D("1613.86"), interest_paid=D("0.05"),
                                                          penalty_accrued=D("3.10"), status="overdue")
    serializer = LoanInstallmentSerializer()
    rows = list(Installment.objects.filter(loan=loan).order_by("number"))
    generic = [drf.Serializer.to_representation(serializer, i) for i in rows]
    assert [serializer.to_representation(i) for i in rows] == [dict(row) for row in generic]
    assert serializer.to_representation(rows[0]) == {
        "number": 1, "due_date": "2027-01-04", "principal": "1613.86", "interest": "116.67", "fee": "0.00",
        "payment": "1730.53", "remaining_principal": "18386.14", "penalty": "3.10", "paid_principal": "1613.86",
        "paid_interest": "0.05", "paid_fee": "0.00", "paid_penalty": "0.00", "status": "overdue"}
