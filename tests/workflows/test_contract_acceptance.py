"""Staff record the contract acceptance of an application without a partner (issue 14, A1): the
service checks the permission and the input, logs who, how and which reference, and moves the
flow exactly as the partner API's acceptance does (credit line granted, flow ended); the back
office offers the form on the application page."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from viewflow.workflow.status import PROCESS

from creditfactory.core.state import transitions_for
from creditfactory.organisations.roles import role_group
from servicing.models import CreditLine
from tests.factories import make_branch, make_staff
from tests.partners.factories import make_partner
from workflows.models import CreditApplication
from workflows.services import applications as services

from .flow_factories import create_application, grant, setup_origination

pytestmark = pytest.mark.django_db

CONTRACT = "workflows.record_contract_acceptance"


@pytest.fixture
def o():
    # Straight through within the ceiling, no signing: the application waits only for the contract.
    return setup_origination("EMERGENCY", auto_approval=True, ceiling=Decimal("20000.00"), approval=False)


@pytest.fixture
def waiting(o, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, amount=Decimal("20000.00"))
    application.refresh_from_db()
    assert application.status == "contract"
    return application


@pytest.fixture
def manager(o):
    user = make_staff("cm", o.branch)
    user.groups.add(role_group("customer_manager"))
    return user


def _nodes(application):
    return [(t.flow_task.name, t.status) for t in application.process.task_set.order_by("id")]


def test_a_customer_manager_records_the_acceptance_and_the_line_is_granted(waiting, manager):
    application = services.application_record_contract_acceptance(
        application=waiting, actor=manager, signing="branch", reference=" HT-2026-0001 ", note="Signed in person")
    assert application.status == "approved"
    assert (application.contract_signing, application.contract_reference, application.contract_recorded_by) == (
        "branch", "HT-2026-0001", manager)
    assert application.contract_accepted_at is not None
    assert application.process.status == PROCESS.DONE
    assert _nodes(application)[-3:] == [("contract", "DONE"), ("grant", "DONE"), ("end", "DONE")]
    line = CreditLine.objects.get(application=application)
    assert (line.limit, line.status) == (Decimal("40000.00"), "active")
    log = [(t.field, t.from_state, t.to_state, t.actor, t.reason)
           for t in transitions_for(application).order_by("id") if t.field in ("contract", "status")][-2:]
    assert log == [
        ("contract", "", "accepted", manager,
         "Contract signed (At the branch), reference HT-2026-0001. Note: Signed in person"),
        ("status", "contract", "approved", manager, f"Credit line {line.pk} granted."),
    ]
    action = application.process.data["actions"][-1]
    assert (action["node"], action["action"], action["by"], action["signing"], action["reference"]) == (
        "contract", "accept", manager.pk, "branch", "HT-2026-0001")


def test_the_same_flow_as_the_partner_api_acceptance(o, waiting, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        other = create_application(o, amount=Decimal("20000.00"), sequence="124")
    services.application_accept_contract(application=other, actor_label="partner:test")
    services.application_record_contract_acceptance(application=waiting, actor=manager, signing="e_signature",
                                                    reference="ENV-77")
    other.refresh_from_db()
    waiting.refresh_from_db()
    assert [n for n, _s in _nodes(waiting)] == [n for n, _s in _nodes(other)]
    assert (waiting.status, other.status) == ("approved", "approved")
    assert (other.contract_signing, waiting.contract_signing) == ("partner_api", "e_signature")


@pytest.mark.parametrize("role", ["auditor", "credit_reviewer", "post_loan_manager"])
def test_roles_without_the_permission_are_refused_and_nothing_changes(o, waiting, role):
    user = make_staff(f"u-{role}", o.branch)
    user.groups.add(role_group(role))
    with pytest.raises(PermissionDenied):
        services.application_record_contract_acceptance(application=waiting, actor=user, signing="branch",
                                                         reference="HT-1")
    waiting.refresh_from_db()
    assert (waiting.status, waiting.contract_signing, waiting.contract_accepted_at) == ("contract", "", None)
    assert CreditLine.objects.count() == 0
    assert not transitions_for(waiting).filter(field="contract").exists()


def test_a_customer_manager_of_another_branch_is_refused(waiting):
    elsewhere = make_staff("cm-bj", make_branch("bj", name="Beijing"))
    elsewhere.groups.add(role_group("customer_manager"))
    with pytest.raises(PermissionDenied):
        services.application_record_contract_acceptance(application=waiting, actor=elsewhere, signing="branch",
                                                        reference="HT-1")
    waiting.refresh_from_db()
    assert (waiting.status, waiting.contract_signing) == ("contract", "")
    assert CreditLine.objects.count() == 0


@pytest.mark.parametrize("signing,reference,field", [
    ("partner_api", "HT-1", "signing"), ("by_pigeon", "HT-1", "signing"), ("branch", "  ", "reference"),
    ("branch", "HT\x1b[31m", "reference"), ("branch", "X" * 65, "reference")])
def test_bad_input_names_the_field_and_changes_nothing(waiting, manager, signing, reference, field):
    with pytest.raises(ValidationError) as caught:
        services.application_record_contract_acceptance(application=waiting, actor=manager, signing=signing,
                                                        reference=reference)
    assert list(caught.value.error_dict) == [field]
    waiting.refresh_from_db()
    assert (waiting.status, waiting.contract_reference) == ("contract", "")
    assert CreditLine.objects.count() == 0


def test_a_partners_application_is_accepted_through_the_partner_only(o, manager, django_capture_on_commit_callbacks):
    partner = make_partner(branch=o.branch, products=[o.product])
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, amount=Decimal("20000.00"), partner=partner)
    application.refresh_from_db()
    assert application.status == "contract"
    with pytest.raises(ValidationError) as caught:
        services.application_record_contract_acceptance(application=application, actor=manager, signing="branch",
                                                        reference="HT-1")
    assert list(caught.value.error_dict) == ["status"]
    application.refresh_from_db()
    assert application.status == "contract"


def test_nothing_to_accept_before_the_contract_step(o, manager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        application = create_application(o, amount=Decimal("20001.00"))  # above the ceiling: review
    application.refresh_from_db()
    assert application.status == "in_review"
    with pytest.raises(ValidationError) as caught:
        services.application_record_contract_acceptance(application=application, actor=manager, signing="branch",
                                                        reference="HT-1")
    assert list(caught.value.error_dict) == ["status"]


def test_the_application_page_offers_the_form_and_records_the_acceptance(client, waiting, manager):
    client.force_login(manager)
    page = f"/origination/applications/{waiting.pk}/"
    html = client.get(page).content.decode()
    assert 'id="contract-form"' in html and 'action="/origination/applications/%d/contract/"' % waiting.pk in html
    refused = client.post(f"{page}contract/", {"contract-signing": "remote_session", "contract-reference": ""})
    assert refused.status_code == 422
    assert "Enter" in refused.content.decode() or "required" in refused.content.decode()
    assert CreditApplication.objects.get(pk=waiting.pk).status == "contract"
    done = client.post(f"{page}contract/", {"contract-signing": "remote_session", "contract-reference": "VS-9"})
    assert (done.status_code, done["Location"]) == (303, page)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.contract_signing, waiting.contract_reference) == (
        "approved", "remote_session", "VS-9")
    html = client.get(page).content.decode()
    assert 'id="contract-form"' not in html
    assert "At the remote-signing session · VS-9" in html


def test_the_form_is_not_offered_without_the_permission_and_the_post_is_refused(client, o, waiting):
    reviewer = grant(make_staff("rv", o.branch))  # may view the application, not record the contract
    client.force_login(reviewer)
    page = f"/origination/applications/{waiting.pk}/"
    assert 'id="contract-form"' not in client.get(page).content.decode()
    response = client.post(f"{page}contract/", {"contract-signing": "branch", "contract-reference": "HT-1"})
    assert response.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == "contract"
