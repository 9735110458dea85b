"""The partner scoping matrix over every partner endpoint with an object id: another partner's
application, document, signing, contract and credit-line URLs answer 404 in the error format and
change nothing; lists show only the caller's applications; and no partner object route exists
that the matrix does not exercise."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from collection.models import Agency, CollectionCase
from creditfactory.core.state import StateTransition
from creditfactory.partners.models import IdempotencyKey, WebhookDelivery, WebhookEndpoint, WebhookEvent
from creditfactory.partners.services import webhooks
from servicing.models import CreditLine, Drawdown
from servicing.services.drawdowns import drawdown_create
from servicing.services.loans import loan_book
from tests.factories import make_staff
from tests.servicing.factories import make_drawdown
from tests.partners.scoping_matrix import (
    ScopedEndpoint,
    assert_lists_exclude,
    assert_partner_isolation,
    partner_object_routes,
    uncovered_routes,
)
from tests.workflows.factories import at
from workflows.models import ApplicationDocument, CreditApplication, SigningAppointment, SigningSlot
from workflows.services.applications import application_accept_contract

from .api_factories import PNG, URL, another_partner, api_setup, body, next_monday, signing_schedule

pytestmark = pytest.mark.django_db

A = "/api/v1/applications/{application}"
ENDPOINTS = [
    ScopedEndpoint("GET", A),
    ScopedEndpoint("POST", A + "/withdraw", {"reason": "not mine"}),
    ScopedEndpoint("POST", A + "/documents", {"file": SimpleUploadedFile("x.png", PNG), "kind": "other"},
                   format="multipart"),
    ScopedEndpoint("GET", A + "/signing/slots"),
    ScopedEndpoint("POST", A + "/signing", {"slot_start": "{slot}"}),
    ScopedEndpoint("POST", A + "/signing/reschedule", {"slot_start": "{slot}", "reason": "x"}),
    ScopedEndpoint("POST", A + "/signing/cancel", {"reason": "x"}),
    ScopedEndpoint("POST", A + "/contract/accept"),
    ScopedEndpoint("GET", A + "/credit-line"),
    ScopedEndpoint("GET", "/api/v1/credit-lines/{line}"),
    ScopedEndpoint("POST", "/api/v1/credit-lines/{line}/drawdowns",
                   {"amount": "10000.00", "term": 12, "term_unit": "months", "repayment_method": "equal_installment",
                    "purpose": "education", "bank_account": "6222021234567890128"}),
    ScopedEndpoint("GET", "/api/v1/drawdowns/{drawdown}"),
    ScopedEndpoint("POST", "/api/v1/drawdowns/{drawdown}/cancel", {"reason": "not mine"}),
    ScopedEndpoint("GET", "/api/v1/credit-lines/{line}/changes"),
    ScopedEndpoint("POST", "/api/v1/credit-lines/{line}/changes", {"kind": "freeze", "reason": "not mine"}),
    ScopedEndpoint("GET", "/api/v1/loans/{loan}"),
    ScopedEndpoint("GET", "/api/v1/loans/{loan}/quote?kind=payoff"),
    ScopedEndpoint("GET", "/api/v1/loans/{loan}/transactions"),
    ScopedEndpoint("POST", "/api/v1/loans/{loan}/repayments",
                   {"amount": "100.00", "kind": "regular", "reference": "NOT-MINE-1"}),
    # The partner platform's own object routes, so that the matrix covers every partner route.
    ScopedEndpoint("GET", "/api/v1/webhooks/{webhook}"),
    ScopedEndpoint("POST", "/api/v1/webhooks/{webhook}/ping"),
    ScopedEndpoint("DELETE", "/api/v1/webhooks/{webhook}"),
    # A collection agency's case (the agency is a partner of a kind).
    ScopedEndpoint("GET", "/api/v1/collection/cases/{case}"),
    ScopedEndpoint("POST", "/api/v1/collection/cases/{case}/contacts", {"channel": "call", "result": "reached"}),
]


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    """Partner ACME's application, approved with a credit line, in a branch with a signing
    schedule; partner OTHER with an application of its own."""
    api = api_setup(straight_through=True)
    signing_schedule(api, make_staff("officer", api.o.branch))
    with django_capture_on_commit_callbacks(execute=True):
        application_id = api.client.post(URL, body(), format="json").json()["id"]
    application = CreditApplication.objects.get(pk=application_id)
    application_accept_contract(application=application, actor_label="partner:ACME")
    other, other_client = another_partner(api)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = other_client.post(URL, body("991"), format="json").json()["id"]
    endpoint, _secret = webhooks.webhook_endpoint_create(partner=api.partner, url="https://a.example.cn/h",
                                                         events=["line.granted"])
    line = CreditLine.objects.get(application=application)
    drawdown = drawdown_create(line=line, partner=api.partner, actor_label="partner:ACME",
                               data={"amount": "10000.00", "term": 12, "repayment_method": "equal_installment",
                                     "purpose": "education", "bank_account": "6222021234567890128"})
    loan = loan_book(drawdown=make_drawdown(line=line))
    agency = Agency.objects.create(code="acme-collect", name="ACME collections", partner=api.partner)
    case = CollectionCase.objects.create(loan=loan, bucket="M1", opened_on=loan.value_date, dpd_at_open=1,
                                         agency=agency)
    ids = {"application": application.pk, "line": line.pk, "webhook": endpoint.pk, "drawdown": drawdown.pk,
           "loan": loan.pk, "case": case.pk}
    return api, other_client, ids, theirs


def snapshot():
    return {
        "applications": list(CreditApplication.objects.order_by("pk").values_list("pk", "status", "updated_at")),
        "documents": ApplicationDocument.objects.count(),
        "appointments": SigningAppointment.objects.count(),
        "slots": list(SigningSlot.objects.values_list("start", "booked")),
        "lines": list(CreditLine.objects.values_list("pk", "status", "used", "held")),
        "drawdowns": list(Drawdown.objects.order_by("pk").values_list("pk", "status", "line_hold")),
        "transitions": StateTransition.objects.count(),
        "events": WebhookEvent.objects.count(),
        "deliveries": WebhookDelivery.objects.count(),
        "webhooks": list(WebhookEndpoint.objects.values_list("pk", "is_active", "deleted_at")),
        "idempotency_keys": IdempotencyKey.objects.count(),
    }


def rendered(endpoints):
    """Bodies with a real slot time, so a failure could only be the scoping."""
    slot = at(next_monday(), 9).isoformat()
    result = []
    for endpoint in endpoints:
        data = endpoint.body
        if isinstance(data, dict) and data.get("slot_start") == "{slot}":
            data = {**data, "slot_start": slot}
        result.append(ScopedEndpoint(endpoint.method, endpoint.url, data, endpoint.format))
    return result


def test_another_partners_ids_answer_404_on_every_endpoint_and_change_nothing(world):
    api, intruder, ids, _theirs = world
    assert_partner_isolation(owner=api.client, intruder=intruder, endpoints=rendered(ENDPOINTS), ids=ids,
                             snapshot=snapshot)


def test_lists_show_only_the_callers_applications(world):
    api, intruder, ids, theirs = world
    assert_lists_exclude(intruder=intruder, urls=[URL, f"{URL}?status=approved"], foreign_ids=[ids["application"]])
    assert [row["id"] for row in intruder.get(URL).json()["results"]] == [theirs]
    assert [row["id"] for row in api.client.get(URL).json()["results"]] == [ids["application"]]
    # Filtering by another partner's reference finds nothing either.
    CreditApplication.objects.filter(pk=ids["application"]).update(external_reference="SECRET-1")
    assert intruder.get(URL, {"external_reference": "SECRET-1"}).json()["results"] == []


def test_ids_that_do_not_exist_answer_the_same_404(world):
    api, _intruder, _ids, _theirs = world
    for url in (f"{URL}/999999", f"{URL}/999999/credit-line", "/api/v1/credit-lines/999999", "/api/v1/loans/999999"):
        response = api.client.get(url)
        assert (response.status_code, response.json()) == (
            404, {"code": "not_found", "message": "Not found.", "errors": {}}), url


def test_the_matrix_covers_every_partner_object_route(world):
    _api, _intruder, ids, _theirs = world
    routes = partner_object_routes()
    assert ("POST", "api/v1/applications/<int:pk>/signing/reschedule") in routes
    assert ("GET", "api/v1/credit-lines/<int:pk>") in routes
    assert ("GET", "api/v1/loans/<int:pk>") in routes
    assert uncovered_routes(ENDPOINTS, ids) == set()
