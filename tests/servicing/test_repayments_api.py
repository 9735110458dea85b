"""Partner API of servicing: the loan's status, DPD, balances and paid parts; the quote; posting a
repayment with Idempotency-Key (201, 422 naming amount with the quote, replay); the
transactions; webhooks; partner scoping; a loan GET whose cost does not grow with days elapsed.
close_like stands in for the daily close until it is on main."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from creditfactory.partners.models import WebhookEvent
from servicing.services.calendar import business_date_set
from servicing.services.ledger import reconcile
from tests.factories import make_product
from tests.partners.factories import issue_key, make_partner, partner_client
from tests.partners.scoping_matrix import ScopedEndpoint, assert_partner_isolation
from tests.servicing.repayment_factories import close_through, make_loan

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def world():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    product = make_product("EDUCATION", prepayment_fee_percent=D("1"))
    acme, other = make_partner("ACME", products=[product]), make_partner("OTHER", products=[product])
    loan = make_loan(product=product, partner=acme)
    return {"loan": loan, "acme": partner_client(issue_key(acme)), "other": partner_client(issue_key(other))}


def _post(client, loan, body, key):
    return client.post(f"/api/v1/loans/{loan.pk}/repayments", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_an_overdue_loan_shows_status_dpd_balances_and_paid_parts(world):
    loan, client = world["loan"], world["acme"]
    close_through(datetime.date(2027, 1, 9))
    data = client.get(f"/api/v1/loans/{loan.pk}").json()
    assert (data["status"], data["dpd"]) == ("overdue", 6)
    assert data["balances"] == {"principal_outstanding": "20000.00", "principal_overdue": "1613.86",
                                "interest_overdue": "116.67", "penalty_outstanding": "2.82", "fee_outstanding": "0.00",
                                "total_payable": "1733.35", "credit_balance": "0.00"}
    assert data["installments"][0] == {
        "number": 1, "due_date": "2027-01-04", "principal": "1613.86", "interest": "116.67", "fee": "0.00",
        "payment": "1730.53", "remaining_principal": "18386.14", "penalty": "2.82", "paid_principal": "0.00",
        "paid_interest": "0.00", "paid_fee": "0.00", "paid_penalty": "0.00", "status": "overdue"}
    assert data["installments"][1]["status"] == "pending"


def test_posting_a_repayment_answers_201_with_its_allocation_and_the_loan(world):
    loan, client = world["loan"], world["acme"]
    close_through(datetime.date(2027, 1, 9))
    response = _post(client, loan, {"amount": "1800.00", "reference": "ACME-1"}, "key-1")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("amount", "value_date", "allocation")} == {
        "amount": "1800.00", "value_date": "2027-01-10",
        "allocation": {"principal": "1613.86", "interest": "116.67", "penalty": "2.82", "fee": "0.00",
                       "prepayment_fee": "0.00", "credit_balance": "66.65"}}
    assert (body["loan"]["status"], body["loan"]["dpd"], body["loan"]["balances"]["credit_balance"]) == (
        "active", 0, "66.65")
    assert body["loan"]["installments"][0]["status"] == "paid"
    replay = _post(client, loan, {"amount": "1800.00", "reference": "ACME-1"}, "key-1")
    assert (replay.status_code, replay.json(), replay.headers.get("Idempotent-Replayed")) == (201, body, "true")
    other_body = _post(client, loan, {"amount": "5.00", "reference": "ACME-1"}, "key-2")
    assert other_body.status_code == 409
    event = WebhookEvent.objects.get(event="repayment.received")
    assert (event.payload["amount"], event.payload["allocation"]["credit_balance"]) == ("1800.00", "66.65")
    assert reconcile() == []


def test_a_payoff_below_its_quote_answers_422_naming_amount_with_the_figure(world):
    loan, client = world["loan"], world["acme"]
    close_through(datetime.date(2027, 1, 3))
    assert _post(client, loan, {"amount": "1730.53", "reference": "I-1"}, "k1").status_code == 201
    close_through(datetime.date(2027, 1, 13))
    quote = client.get(f"/api/v1/loans/{loan.pk}/quote", {"kind": "payoff"})
    assert quote.json() == {"date": "2027-01-14", "payable": "0.00", "principal": "18386.14", "interest": "35.75",
                            "penalty": "0.00", "fee": "0.00", "prepayment_fee": "183.86", "total": "18605.75"}
    low = _post(client, loan, {"amount": "18600.00", "kind": "payoff", "reference": "P-1"}, "k2")
    assert low.status_code == 422
    assert low.json()["errors"] == {"amount": ["A payoff today is 18605.75; the amount is below it."],
                                    "quote": ["18605.75"]}
    paid = _post(client, loan, {"amount": "18605.75", "kind": "payoff", "reference": "P-1"}, "k3")
    assert paid.status_code == 201
    assert (paid.json()["loan"]["status"], paid.json()["allocation"]["prepayment_fee"]) == ("paid_off", "183.86")
    assert WebhookEvent.objects.filter(event="loan.paid_off").count() == 1
    closed = _post(client, loan, {"amount": "1.00", "reference": "P-2"}, "k4")
    assert closed.status_code == 409
    transactions = client.get(f"/api/v1/loans/{loan.pk}/transactions").json()["results"]
    assert [(t["type"], t["date"], t["amount"], t["kind"]) for t in transactions] == [
        ("disbursement", "2026-12-04", "20000.00", ""), ("repayment", "2027-01-04", "1730.53", "regular"),
        ("repayment", "2027-01-14", "18605.75", "payoff")]
    assert reconcile() == []


def test_a_prepayment_quote_needs_a_principal_and_the_amount_must_match(world):
    loan, client = world["loan"], world["acme"]
    close_through(datetime.date(2027, 1, 13))
    assert client.get(f"/api/v1/loans/{loan.pk}/quote", {"kind": "prepayment"}).json()["errors"] == {
        "principal": ["Name the principal to prepay."]}
    quote = client.get(f"/api/v1/loans/{loan.pk}/quote", {"kind": "prepayment", "principal": "5000.00"}).json()
    # Installment 1 unpaid, 10 days late: 1,730.53 + 10 × 0.47 penalty; then 5,000.00 + 9.72 + 50.00.
    assert (quote["payable"], quote["penalty"], quote["total"]) == ("1735.23", "4.70", "6794.95")
    wrong = _post(client, loan, {"amount": "6790.00", "kind": "prepayment", "principal": "5000.00",
                                 "reference": "X"}, "k1")
    assert (wrong.status_code, wrong.json()["errors"]["quote"]) == (422, ["6794.95"])
    assert client.get(f"/api/v1/loans/{loan.pk}/quote", {"kind": "other"}).status_code == 400


def test_another_partners_loan_answers_404(world):
    loan = world["loan"]
    assert_partner_isolation(owner=world["acme"], intruder=world["other"], endpoints=[
        ScopedEndpoint("GET", "/api/v1/loans/{loan}/quote?kind=payoff"),
        ScopedEndpoint("GET", "/api/v1/loans/{loan}/transactions")], ids={"loan": loan.pk})
    response = _post(world["other"], loan, {"amount": "1.00", "reference": "X"}, "k")
    assert response.status_code == 404


def test_the_loan_get_costs_the_same_queries_after_weeks_of_history(world):
    loan, client = world["loan"], world["acme"]
    client.get(f"/api/v1/loans/{loan.pk}")
    with CaptureQueriesContext(connection) as early:
        client.get(f"/api/v1/loans/{loan.pk}")
    close_through(datetime.date(2027, 1, 3))
    assert _post(client, loan, {"amount": "1730.53", "reference": "I-1"}, "k1").status_code == 201
    close_through(datetime.date(2027, 2, 20))
    with CaptureQueriesContext(connection) as late:
        assert client.get(f"/api/v1/loans/{loan.pk}").status_code == 200
    assert len(late) == len(early)


def test_the_repayment_endpoints_are_in_the_openapi_schema():
    document = SchemaGenerator().get_schema(request=None, public=True)
    paths = document["paths"]
    assert paths["/api/v1/loans/{id}/quote"]["get"]["operationId"] == "loans_quote"
    post = paths["/api/v1/loans/{id}/repayments"]["post"]
    assert post["operationId"] == "loans_repayments_create"
    assert set(post["responses"]) == {"201", "400", "401", "404", "409", "422", "429"}
    assert any(p["name"] == "Idempotency-Key" and p["required"] for p in post["parameters"])
    assert paths["/api/v1/loans/{id}/transactions"]["get"]["operationId"] == "loans_transactions"
    balances = document["components"]["schemas"]["LoanBalances"]["properties"]
    assert list(balances) == ["principal_outstanding", "principal_overdue", "interest_overdue", "penalty_outstanding",
                              "fee_outstanding", "total_payable", "credit_balance"]


def test_the_loan_in_a_repayments_answer_is_the_loan_as_read_back(world):
    """The answer's loan is built from the rows the posting left in memory (not read again): it
    must equal a GET of the loan afterwards — after an overdue installment with penalty on a
    co-lent loan, a prepayment that recomputes the schedule, and the payoff that closes it."""
    from servicing.models import Funder
    from tests.servicing.funding_factories import make_funder

    bank, coop = make_funder("BANKX", kind="facilitation"), make_funder("COOPX", kind="co_lender")
    product = world["loan"].product_version.product
    loan = make_loan(product=product, partner=world["loan"].partner, funders=[(bank, D(70)), (coop, D(30))])
    client = world["acme"]
    assert Funder.objects.filter(code__in=["BANKX", "COOPX"]).count() == 2
    close_through(datetime.date(2027, 1, 9))
    steps = [({"amount": "1733.35", "reference": "R-1"}, "active"),
             ({"amount": "5059.72", "kind": "prepayment", "principal": "5000.00", "reference": "R-2"}, "active")]
    for index, (body, status) in enumerate(steps):
        if body.get("kind") == "prepayment":
            body["amount"] = client.get(f"/api/v1/loans/{loan.pk}/quote",
                                        {"kind": "prepayment", "principal": "5000.00"}).json()["total"]
        answer = _post(client, loan, body, f"key-{index}")
        assert answer.status_code == 201, answer.json()
        assert answer.json()["loan"] == client.get(f"/api/v1/loans/{loan.pk}").json()
        assert answer.json()["loan"]["status"] == status
    payoff = client.get(f"/api/v1/loans/{loan.pk}/quote", {"kind": "payoff"}).json()["total"]
    answer = _post(client, loan, {"amount": payoff, "kind": "payoff", "reference": "R-3"}, "key-3")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["loan"] == client.get(f"/api/v1/loans/{loan.pk}").json()
    assert answer.json()["loan"]["status"] == "paid_off"
    assert [part["funder"] for part in answer.json()["loan"]["funding"]] == ["BANKX", "COOPX"]
    assert reconcile() == []
