"""The partner API: a loan's ``collection`` part, and an agency's cases — scoped to the agency
(a matrix: its own case, another agency's, a plain partner, a case moved away)."""

import datetime

import pytest

from collection.models import CollectionCase
from servicing.services.calendar import business_date_set
from servicing.services.close import close_day
from tests.collection.factories import make_agency, make_case, make_strategy
from tests.factories import make_product
from tests.partners.factories import issue_key, make_partner, partner_client
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
DUE = datetime.date(2027, 1, 4)


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=DAY, reason="test")


def test_a_loan_shows_its_case_bucket_and_classification():
    make_strategy()
    product = make_product("EDUCATION")
    acme = make_partner("ACME", products=[product])
    client = partner_client(issue_key(acme))
    loan = make_loan(product=product, partner=acme)
    assert client.get(f"/api/v1/loans/{loan.pk}").json()["collection"] == {
        "case": None, "status": None, "bucket": None, "classification": "normal"}
    close_day(until=DUE + datetime.timedelta(days=30))
    case = CollectionCase.objects.get()
    assert client.get(f"/api/v1/loans/{loan.pk}").json()["collection"] == {
        "case": case.pk, "status": "open", "bucket": "M2", "classification": "special_mention"}
    listed = client.get("/api/v1/loans").json()["results"]
    assert [row["collection"]["case"] for row in listed] == [case.pk]


def test_an_agency_sees_only_its_own_cases():
    first_partner, second_partner, plain = make_partner("AG1"), make_partner("AG2"), make_partner("PLAIN")
    first, second = make_agency("A1", partner=first_partner), make_agency("A2", partner=second_partner)
    mine, theirs = make_case(agency=first), make_case(agency=second)
    first_client, second_client = partner_client(issue_key(first_partner)), partner_client(issue_key(second_partner))
    plain_client = partner_client(issue_key(plain))

    rows = first_client.get("/api/v1/collection/cases").json()["results"]
    assert [(row["id"], row["loan"], row["bucket"], row["mobile"][:3]) for row in rows] == [
        (mine.pk, mine.loan_id, "M1", mine.loan.applicant.mobile_masked[:3])]
    assert "*" in rows[0]["mobile"]
    matrix = {(name, case.pk): client.get(f"/api/v1/collection/cases/{case.pk}").status_code
              for name, client in (("first", first_client), ("second", second_client), ("plain", plain_client))
              for case in (mine, theirs)}
    assert matrix == {("first", mine.pk): 200, ("first", theirs.pk): 404, ("second", mine.pk): 404,
                      ("second", theirs.pk): 200, ("plain", mine.pk): 404, ("plain", theirs.pk): 404}
    response = plain_client.get("/api/v1/collection/cases")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    CollectionCase.objects.filter(pk=mine.pk).update(agency=second)  # moved to the other agency
    assert first_client.get(f"/api/v1/collection/cases/{mine.pk}").status_code == 404
    assert first_client.get("/api/v1/collection/cases").json()["results"] == []


def test_an_agency_reports_a_contact_and_a_promise_and_the_rules_hold_for_it():
    from collection.models import ComplianceRefusal, Contact, Promise

    partner, other_partner = make_partner("AG1"), make_partner("AG2")
    agency = make_agency("A1", partner=partner)
    make_agency("A2", partner=other_partner)
    case = make_case(agency=agency)
    client = partner_client(issue_key(partner))
    url = f"/api/v1/collection/cases/{case.pk}/contacts"
    ten = "2026-12-04T10:00:00+08:00"
    response = client.post(url, {"channel": "call", "result": "reached", "at": ten, "promise_amount": "500.00",
                                 "promise_due_on": "2026-12-08"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 201, response.json()
    body = response.json()
    promise = Promise.objects.get()
    assert (body["case"], body["result"], body["promise"]) == (
        case.pk, "promised", {"id": promise.pk, "amount": "500.00", "due_on": "2026-12-08", "status": "pending"})
    assert (promise.agency, Contact.objects.get().agency) == (agency, agency)
    late = client.post(url, {"channel": "call", "result": "reached", "at": "2026-12-04T22:00:00+08:00"},
                       format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert (late.status_code, late.json()["code"], late.json()["errors"]) == (
        422, "contact_refused", {"rule": ["contact_hours"]})
    assert ComplianceRefusal.objects.get().agency == agency
    other = partner_client(issue_key(other_partner)).post(url, {"channel": "call", "result": "reached", "at": ten},
                                                          format="json", HTTP_IDEMPOTENCY_KEY="k3")
    assert other.status_code == 404
    bad = client.post(url, {"channel": "fax", "result": "reached"}, format="json", HTTP_IDEMPOTENCY_KEY="k4")
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["channel"])
    assert Contact.objects.count() == 1
