"""Partner API: POST/GET /api/v1/credit-lines/{id}/changes — 201 with Idempotency-Key, applied
directly or waiting for approval, 400/422/409 naming the field, another partner's line 404."""

from decimal import Decimal

import pytest

from creditfactory.partners.models import WebhookEvent
from servicing.models import CreditLine, CreditLineChange
from tests.partners.factories import issue_key, make_partner, partner_client
from tests.workflows.line_factories import setup_lines
from workflows.services.line_changes import line_change_decide

pytestmark = pytest.mark.django_db


def _setup(*, approval=False, **line):
    partner = make_partner("ACME", throttle_rate="100000/min")
    s = setup_lines(approval=approval, partner=partner, **line)
    return s, partner, partner_client(issue_key(partner)), f"/api/v1/credit-lines/{s.line.pk}/changes"


def test_a_decrease_applied_directly_answers_201_and_replays_with_the_same_key():
    s, partner, client, url = _setup(limit="50000.00", used="12000.00")
    body = {"kind": "decrease", "new_limit": "30000.00", "reason": "Partner risk review"}
    response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="chg-1")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert {k: data[k] for k in ("kind", "status", "source", "new_limit", "limit_before", "limit_after",
                                 "status_before", "status_after", "credit_line")} == {
        "kind": "decrease", "status": "applied", "source": "partner", "new_limit": "30000.00",
        "limit_before": "50000.00", "limit_after": "30000.00", "status_before": "active", "status_after": "active",
        "credit_line": s.line.pk}
    replay = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="chg-1")
    assert (replay.status_code, replay.json()["id"], replay["Idempotent-Replayed"]) == (201, data["id"], "true")
    assert CreditLineChange.objects.count() == 1
    assert CreditLine.objects.get(pk=s.line.pk).limit == Decimal("30000.00")
    listing = client.get(url).json()
    assert [row["number"] for row in listing["results"]] == [data["number"]]


def test_with_approval_the_change_waits_and_line_changed_tells_the_outcome():
    s, partner, client, url = _setup(approval=True)
    response = client.post(url, {"kind": "freeze", "reason": "Borrower unreachable"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="chg-2")
    assert (response.status_code, response.json()["status"]) == (201, "requested")
    change = CreditLineChange.objects.get()
    assert (change.partner, change.requested_by) == (partner, None)
    line_change_decide(change=change, actor=s.approver, action="approve", note="ok")
    assert CreditLine.objects.get(pk=s.line.pk).status == "frozen"
    [event] = WebhookEvent.objects.filter(event="line.changed")
    assert (event.payload["change"]["status"], event.payload["credit_line"]["status"]) == ("applied", "frozen")
    assert client.get(url).json()["results"][0]["status"] == "applied"


def test_a_decrease_below_what_is_drawn_answers_422_with_the_figures():
    s, partner, client, url = _setup(limit="50000.00", used="30000.00", held="2000.00")
    response = client.post(url, {"kind": "decrease", "new_limit": "31000.00", "reason": "x"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="chg-3")
    assert response.status_code == 422
    assert response.json()["errors"] == {"new_limit": [
        "The new limit 31,000.00 is below what the line has drawn and reserved: used 30,000.00 + held 2,000.00 "
        "= 32,000.00."]}
    assert CreditLineChange.objects.count() == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "grow", "reason": "x"}, "kind"),
    ({"kind": "increase", "reason": "x"}, "new_limit"),
    ({"kind": "increase", "new_limit": "abc", "reason": "x"}, "new_limit"),
    ({"kind": "increase", "new_limit": "-5", "reason": "x"}, "new_limit"),
    ({"kind": "freeze"}, "reason"),
])
def test_malformed_bodies_answer_400_naming_the_field(body, field):
    s, partner, client, url = _setup()
    response = client.post(url, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert CreditLineChange.objects.count() == 0


def test_a_change_the_status_does_not_allow_answers_409():
    s, partner, client, url = _setup()
    response = client.post(url, {"kind": "unfreeze", "reason": "x"}, format="json")
    assert response.status_code == 409
    assert "status" in response.json()["errors"]


def test_an_increase_that_is_not_one_answers_422_naming_new_limit():
    s, partner, client, url = _setup(limit="50000.00")
    response = client.post(url, {"kind": "increase", "new_limit": "40000.00", "reason": "x"}, format="json")
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["new_limit"]


def test_another_partners_line_answers_404():
    s, partner, client, url = _setup()
    other = make_partner("OTHER", branch=s.branch, throttle_rate="100000/min")
    other_client = partner_client(issue_key(other))
    assert other_client.get(url).status_code == 404
    assert other_client.post(url, {"kind": "freeze", "reason": "x"}, format="json").status_code == 404
    assert CreditLineChange.objects.count() == 0


def test_the_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    operations = schema["paths"]["/api/v1/credit-lines/{id}/changes"]
    assert (operations["get"]["operationId"], operations["post"]["operationId"]) == (
        "credit_lines_changes_list", "credit_lines_changes_create")
    assert {"201", "400", "404", "409", "422"} <= set(operations["post"]["responses"])
