"""The partner's drawdown API: create (201 with the issue's fields, the amount reserved, the flow
started), the 400/422/409 answers, idempotency, read, list with filters, cancel (and 409 after
disbursement), partner scoping (another partner's ids → 404), and the OpenAPI schema."""

from decimal import Decimal

import pytest

from creditfactory.partners.models import WebhookEvent
from servicing.models import CreditLine, Drawdown

from .drawdown_factories import drawdown_body, line_api

pytestmark = pytest.mark.django_db


def _post(api, body=None, *, key="k-1", line=None):
    return api.client.post(f"/api/v1/credit-lines/{(line or api.line).pk}/drawdowns", body or drawdown_body(),
                           format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_drawdown_is_created_reserved_and_its_flow_started():
    api = line_api()
    response = _post(api, drawdown_body(external_reference="ACME-DD-1"))
    assert response.status_code == 201, response.content
    data = response.json()
    drawdown = Drawdown.objects.get()
    assert {k: data[k] for k in ("id", "number", "status", "amount", "term", "term_unit", "repayment_method",
                                 "credit_line", "loan")} == {
        "id": drawdown.pk, "number": drawdown.number, "status": "requested", "amount": "20000.00", "term": 12,
        "term_unit": "months", "repayment_method": "equal_installment", "credit_line": api.line.pk, "loan": None}
    assert data["bank_account"].endswith("0128")
    assert (data["external_reference"], data["funding"], data["reasons"]) == ("ACME-DD-1", [], [])
    assert "6222021234567890128" not in response.content.decode()
    assert response["Location"] == f"/api/v1/drawdowns/{drawdown.pk}"
    line = CreditLine.objects.get(pk=api.line.pk)
    assert (line.used, line.held) == (Decimal("0.00"), Decimal("20000.00"))
    from workflows.selectors.drawdowns import drawdown_process

    assert drawdown_process(drawdown).data["drawdown_id"] == drawdown.pk


def test_the_same_idempotency_key_replays_and_reserves_once():
    api = line_api()
    first, second = _post(api, key="same"), _post(api, key="same")
    assert (first.status_code, second.status_code, first.json()["id"]) == (201, 201, second.json()["id"])
    assert Drawdown.objects.count() == 1 and CreditLine.objects.get(pk=api.line.pk).held == Decimal("20000.00")


def test_a_drawdown_needs_an_idempotency_key():
    api = line_api()
    response = api.client.post(f"/api/v1/credit-lines/{api.line.pk}/drawdowns", drawdown_body(), format="json")
    assert response.status_code == 400 and Drawdown.objects.count() == 0


def test_terms_outside_the_product_answer_400_naming_the_fields():
    api = line_api(limit=Decimal("200000.00"))
    response = _post(api, drawdown_body(amount="150000.00", term=48, purpose="travel"))
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"amount", "term", "purpose"}
    assert Drawdown.objects.count() == 0 and CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")


def test_more_than_available_answers_422_naming_amount_with_the_figure():
    api = line_api(limit=Decimal("30000.00"))
    assert _post(api, key="a").status_code == 201
    response = _post(api, key="b")
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["errors"]["available"]) == ("amount_unavailable", ["10000.00"])
    assert body["errors"]["amount"] == ["The amount is more than is available on the credit line (10,000.00)."]
    assert Drawdown.objects.count() == 1


@pytest.mark.parametrize("status", ["frozen", "expired", "terminated"])
def test_a_line_that_is_not_active_answers_409(status):
    api = line_api(status=status)
    response = _post(api)
    assert (response.status_code, response.json()["code"]) == (409, f"line_{status}")
    assert Drawdown.objects.count() == 0


def test_read_list_and_filter():
    api = line_api(limit=Decimal("100000.00"))
    first = _post(api, key="a").json()["id"]
    second = _post(api, drawdown_body(amount="10000.00"), key="b").json()["id"]
    Drawdown.objects.filter(pk=first).update(status="cancelled")
    detail = api.client.get(f"/api/v1/drawdowns/{second}")
    assert (detail.status_code, detail.json()["amount"]) == (200, "10000.00")
    listed = api.client.get("/api/v1/drawdowns", {"credit_line": api.line.pk}).json()["results"]
    assert [row["id"] for row in listed] == [second, first]
    cancelled = api.client.get("/api/v1/drawdowns", {"status": "cancelled"}).json()["results"]
    assert [row["id"] for row in cancelled] == [first]
    assert api.client.get("/api/v1/drawdowns", {"status": "nonsense"}).status_code == 400


def test_cancel_releases_the_reservation_and_tells_the_partner():
    api = line_api()
    drawdown_id = _post(api).json()["id"]
    response = api.client.post(f"/api/v1/drawdowns/{drawdown_id}/cancel", {"reason": "Changed my mind"},
                               format="json", HTTP_IDEMPOTENCY_KEY="c-1")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert response.json()["reasons"] == [{"code": "cancelled", "text": "Changed my mind"}]
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("0.00")
    assert WebhookEvent.objects.filter(event="drawdown.cancelled").count() == 1


def test_cancel_after_disbursement_began_answers_409_and_keeps_the_reservation():
    api = line_api()
    drawdown_id = _post(api).json()["id"]
    Drawdown.objects.filter(pk=drawdown_id).update(status="disbursing")
    response = api.client.post(f"/api/v1/drawdowns/{drawdown_id}/cancel", {}, format="json",
                               HTTP_IDEMPOTENCY_KEY="c-2")
    assert (response.status_code, response.json()["code"]) == (409, "drawdown_closed")
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("20000.00")


def test_another_partners_line_and_drawdowns_answer_404_and_change_nothing():
    api = line_api()
    drawdown_id = _post(api).json()["id"]
    other = line_api(code="OTHER")
    assert _post(other, line=api.line, key="x").status_code == 404
    assert other.client.get(f"/api/v1/drawdowns/{drawdown_id}").status_code == 404
    assert other.client.post(f"/api/v1/drawdowns/{drawdown_id}/cancel", {}, format="json",
                             HTTP_IDEMPOTENCY_KEY="y").status_code == 404
    assert other.client.get("/api/v1/drawdowns").json()["results"] == []
    assert Drawdown.objects.get(pk=drawdown_id).status == "requested"
    assert CreditLine.objects.get(pk=api.line.pk).held == Decimal("20000.00")


def test_the_drawdown_endpoints_are_in_the_openapi_schema(client):
    text = client.get("/api/schema/").content.decode()
    for operation in ("credit_lines_drawdowns_create", "drawdowns_list", "drawdowns_retrieve", "drawdowns_cancel"):
        assert operation in text


def test_the_201_body_is_what_reading_the_drawdown_answers_and_the_same_for_every_request():
    """The created body comes from one serializer per process: it stays what a fresh serializer
    gives for the stored drawdown (GET, before the flow moves it: the test's transaction never
    commits, so the flow's first job is not sent), request after request."""
    api = line_api()
    bodies = []
    for index, amount in enumerate(("10000.00", "12500.50")):
        response = _post(api, drawdown_body(amount=amount, external_reference=f"R-{index}"), key=f"k-{index}")
        assert response.status_code == 201, response.content
        bodies.append(response.json())
    for body in bodies:
        assert body == api.client.get(f"/api/v1/drawdowns/{body['id']}").json()
    assert [body["amount"] for body in bodies] == ["10000.00", "12500.50"]
