"""Schemathesis against the whole OpenAPI document at /api/schema/, in process through the WSGI
application, with a valid partner key: for every operation, generated requests (valid and
invalid) never get a 5xx, and every answer conforms to the schema — status code documented,
content type, headers and body.

Deterministic and bounded: hypothesis is derandomized with a few examples per operation. Path
ids are either the partner's real objects (an application waiting for remote signing, an approved
one with its credit line, a webhook endpoint) or whatever was generated, chosen by the generated
value, so both the real code paths and the 404s are exercised.
"""

from contextlib import contextmanager

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings as hypothesis_settings

from creditfactory.partners.services import webhooks
from schemathesis import checks
from servicing.services.loans import loan_book
from tests.factories import make_staff
from tests.servicing.factories import make_drawdown
from tests.workflows.api_factories import URL, api_setup, body, signing_schedule
from workflows.models import CreditApplication
from workflows.services.applications import application_accept_contract

pytestmark = pytest.mark.django_db

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _load_schema():
    from creditfactory.wsgi import application

    # Loaded when the module is collected (schemathesis' lazy fixture loader does not run on this
    # pytest); generating the document reads no database.
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


schema = _load_schema()


@contextmanager
def in_test_transaction():
    """The WSGI handler closes "old" connections around each request, which would end the test's
    transaction; Django's own test client switches that off the same way, per request."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def partner_world(django_capture_on_commit_callbacks, settings):
    settings.WEBHOOK_REQUIRE_HTTPS = True
    api = api_setup(signing=True, straight_through=True)
    signing_schedule(api, make_staff("officer", api.o.branch))
    with django_capture_on_commit_callbacks(execute=True):
        signing_id = api.client.post(URL, body(), format="json").json()["id"]
        approved_id = api.client.post(URL, body(external_reference="approved"), format="json").json()["id"]
    approved = CreditApplication.objects.get(pk=approved_id)
    # Past signing straight to the contract: the line is granted on acceptance.
    from workflows.services.applications import application_signing_passed

    application_signing_passed(application=approved, actor_label="system")
    application_accept_contract(application=approved, actor_label="partner:ACME")
    approved.refresh_from_db()
    assert (CreditApplication.objects.get(pk=signing_id).status, approved.status) == ("signing", "approved")
    endpoint, _secret = webhooks.webhook_endpoint_create(partner=api.partner, url="https://hooks.example.cn/h",
                                                         events=["line.granted"])
    from servicing.services.drawdowns import drawdown_create

    drawdown = drawdown_create(line=approved.credit_line, partner=api.partner, actor_label="partner:ACME",
                               data={"amount": "10000.00", "term": 12, "repayment_method": "equal_installment",
                                     "purpose": "education", "bank_account": "6222021234567890128"})
    loan = loan_book(drawdown=make_drawdown(line=approved.credit_line))
    return {
        "key": api.key,
        "applications": [signing_id, approved_id],
        "credit-lines": [approved.credit_line.pk],
        "drawdowns": [drawdown.pk],
        "loans": [loan.pk],
        "webhooks": [endpoint.pk],
    }


def real_ids(case, world) -> None:
    """Replace a generated id by one of the partner's objects, chosen by the generated value (so
    some cases still use the generated id and meet the 404)."""
    if not case.path_parameters or "id" not in case.path_parameters:
        return
    resource = case.operation.path.split("/")[3]
    candidates = world.get(resource, [])
    generated = case.path_parameters["id"]
    if isinstance(generated, int) and candidates and generated % (len(candidates) + 1) != len(candidates):
        case.path_parameters["id"] = candidates[generated % (len(candidates) + 1)]


@schema.parametrize()
@hypothesis_settings(max_examples=5, derandomize=True, deadline=None, database=None,
                     suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_schema(case, partner_world):
    real_ids(case, partner_world)
    with in_test_transaction():
        case.call_and_validate(headers={"Authorization": f"Bearer {partner_world['key']}"}, checks=CHECKS)


def test_the_run_covers_every_partner_operation():
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert operations >= {
        ("GET", "/api/v1/applications"), ("POST", "/api/v1/applications"), ("GET", "/api/v1/applications/{id}"),
        ("POST", "/api/v1/applications/{id}/withdraw"), ("POST", "/api/v1/applications/{id}/documents"),
        ("GET", "/api/v1/applications/{id}/signing/slots"), ("POST", "/api/v1/applications/{id}/signing"),
        ("POST", "/api/v1/applications/{id}/signing/reschedule"), ("POST", "/api/v1/applications/{id}/signing/cancel"),
        ("POST", "/api/v1/applications/{id}/contract/accept"), ("GET", "/api/v1/applications/{id}/credit-line"),
        ("GET", "/api/v1/credit-lines/{id}"), ("GET", "/api/v1/loans"), ("GET", "/api/v1/loans/{id}"),
        ("GET", "/api/v1/partner"), ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"), ("GET", "/api/v1/webhooks/{id}"), ("DELETE", "/api/v1/webhooks/{id}"),
        ("POST", "/api/v1/webhooks/{id}/ping"), ("GET", "/api/v1/webhooks/events"),
        ("POST", "/api/v1/calculator/schedule"), ("POST", "/api/v1/credit-lines/{id}/drawdowns"),
        ("GET", "/api/v1/drawdowns"), ("GET", "/api/v1/drawdowns/{id}"), ("POST", "/api/v1/drawdowns/{id}/cancel"),
    }
