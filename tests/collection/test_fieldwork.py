"""Field visits (外访) and legal referrals (法务移交) as their own task kinds: the strategy's visit
and legal steps create tasks of their kind in ``CollectionFlow``; a visit's result is a contact
held to the compliance rules; a legal referral needs a loan that still owes (overdue, or written
off on a closed case), one at a time, approved by the lead (four eyes); the case page's cards."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from viewflow.workflow.models import Process
from viewflow.workflow.status import STATUS

from collection.models import (
    CollectionCase, CompliancePolicy, ComplianceRefusal, Contact, FieldVisit, LegalReferral,
)
from collection.services.contacts import ContactRefused, hardship_approve, hardship_request
from collection.services.fieldwork import legal_referral_decide, legal_referral_request, visit_record
from creditfactory.core.models import StateTransition
from servicing.models import Loan
from servicing.services.calendar import business_date_set
from tests.collection.factories import make_case, make_strategy, make_work_group
from tests.factories import UserFactory, make_staff
from tests.servicing.repayment_factories import make_loan
from workflows.collection_flows import CollectionFlow
from workflows.services.collection_cases import (
    case_legal_refer, case_open_task, case_visit_record, collection_flows_sync,
)

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
D = Decimal


@pytest.fixture(autouse=True)
def _setup():
    business_date_set(date=DAY, reason="test")
    make_strategy()  # seeds the defaults
    # Contact hours all day: visits are recorded "now", whatever the hour the suite runs at.
    CompliancePolicy.objects.update(contact_from=datetime.time(0, 0), contact_until=datetime.time(23, 59, 59, 999999))


def _world(kind):
    """A case at a ``kind`` step (visit or legal) of the work group (li, wang; lead)."""
    loan = make_loan()
    Loan.objects.filter(pk=loan.pk).update(status="overdue", days_past_due=40, principal_outstanding=D("9000.00"),
                                           interest_receivable=D("150.00"), penalty_receivable=D("20.50"))
    li, wang, lead = (make_staff(name, loan.branch) for name in ("li", "wang", "lead"))
    group = make_work_group("field", members=[li, wang], lead=lead, policy="claim")
    strategy = make_strategy(code=kind.upper(), actions=[("M2", 31, kind, {"work_group": group})])
    case = make_case(loan=Loan.objects.get(pk=loan.pk), bucket="M2", step=0, work_group=group, strategy=strategy)
    return case, li, wang, lead


def test_a_visit_step_creates_a_visit_task_completed_by_recording_the_visit():
    case, li, _wang, _lead = _world("visit")
    assert collection_flows_sync() == 1
    task = case_open_task(case)
    assert (task.flow_task.name, task.status) == ("visit", STATUS.NEW)
    visit = case_visit_record(case=case, result="not_found", notes="Nobody at home", actor=li)
    assert (visit.result, visit.bucket, visit.contact.channel, visit.contact.result, visit.contact.collector) == (
        "not_found", "M2", "visit", "no_answer", li)
    assert task.__class__.objects.get(pk=task.pk).status == STATUS.DONE
    following = case_open_task(case)
    assert (following.flow_task.name, following.status) == ("visit", STATUS.NEW)  # the next round
    case_visit_record(case=case, result="visited", actor=li)
    assert list(FieldVisit.objects.order_by("id").values_list("result", "contact__result")) == [
        ("not_found", "no_answer"), ("visited", "reached")]


def test_a_visit_is_held_to_the_compliance_rules_and_a_refusal_is_logged():
    case, li, _wang, _lead = _world("visit")
    approver = UserFactory(username="approver")
    approver.user_permissions.add(Permission.objects.get(codename="approve_hardshiphold"))
    hardship_approve(hold=hardship_request(case=case, reason="Hospitalised", actor=li), actor=approver)
    with pytest.raises(ContactRefused) as exc:
        visit_record(case=case, result="visited", actor=li)
    assert exc.value.rule == "hardship"
    refusal = ComplianceRefusal.objects.get()
    assert (refusal.channel, refusal.collector) == ("visit", li)
    assert (FieldVisit.objects.count(), Contact.objects.count()) == (0, 0)
    with pytest.raises(ValidationError) as exc:
        visit_record(case=case, result="somewhere", actor=li)
    assert list(exc.value.message_dict) == ["result"]


def test_a_legal_step_creates_a_legal_task_and_the_referral_ends_the_flow_until_rejected():
    case, li, wang, lead = _world("legal")
    collection_flows_sync()
    assert case_open_task(case).flow_task.name == "legal"
    referral = case_legal_refer(case=case, reason="No payment for 40 days, assets found", actor=li)
    assert (referral.status, referral.bucket, referral.owed, referral.requested_on, referral.requested_by) == (
        "requested", "M2", D("9170.50"), DAY, li)
    process = Process.objects.get(flow_class=CollectionFlow)
    assert (process.status, case_open_task(case)) == (STATUS.DONE, None)  # with legal now
    assert collection_flows_sync() == 0
    with pytest.raises(ValidationError) as exc:  # one at a time
        legal_referral_request(case=case, reason="again", actor=wang)
    assert list(exc.value.message_dict) == ["case"]
    legal_referral_decide(referral=referral, actor=lead, approve=False, reason="Not worth suing yet")
    assert collection_flows_sync() == 1  # rejected: the legal step's work goes on


def test_the_lead_approves_a_referral_never_who_requested_it():
    case, li, wang, lead = _world("legal")
    referral = legal_referral_request(case=case, reason="Assets found", actor=li)
    with pytest.raises(PermissionDenied):
        legal_referral_decide(referral=referral, actor=wang, approve=True)  # a colleague: not the lead
    holder = make_staff("legalhead", case.loan.branch)
    holder.user_permissions.add(Permission.objects.get(codename="approve_legalreferral"))
    referral_by_lead = referral
    with pytest.raises(PermissionDenied):
        legal_referral_decide(referral=legal_referral_request(case=make_case(
            loan=_overdue(make_loan()), work_group=case.work_group), reason="x", actor=lead), actor=lead, approve=True)
    approved = legal_referral_decide(referral=referral_by_lead, actor=lead, approve=True)
    assert (approved.status, approved.decided_by, approved.decided_on) == ("approved", lead, DAY)
    log = StateTransition.objects.filter(object_id=str(referral.pk), to_state="approved").get()
    assert log.actor == lead
    with pytest.raises(ValidationError):
        legal_referral_decide(referral=referral, actor=holder, approve=False)  # decided already
    assert LegalReferral.objects.get(pk=referral.pk).status == "approved"


def _overdue(loan, status="overdue"):
    Loan.objects.filter(pk=loan.pk).update(status=status)
    return Loan.objects.get(pk=loan.pk)


def test_a_closed_case_is_referred_only_when_its_loan_was_written_off():
    worker = make_staff("li", make_loan().branch)
    worker.user_permissions.add(Permission.objects.get(codename="work_on_cases"))
    written_off = make_case(loan=_overdue(make_loan(), "written_off"))
    CollectionCase.objects.filter(pk=written_off.pk).update(status="closed", close_reason="written_off",
                                                            closed_on=DAY)
    referral = legal_referral_request(case=CollectionCase.objects.get(pk=written_off.pk),
                                      reason="Recover the written-off debt", actor=worker)
    assert referral.status == "requested"
    cured = make_case(loan=make_loan())  # the loan is current again
    CollectionCase.objects.filter(pk=cured.pk).update(status="closed", close_reason="cured", closed_on=DAY)
    with pytest.raises(ValidationError) as exc:
        legal_referral_request(case=CollectionCase.objects.get(pk=cured.pk), reason="x", actor=worker)
    assert exc.value.message_dict == {"case": [
        "Only a case whose loan is overdue or written off can be referred to legal; this loan is Active."]}
    with pytest.raises(ValidationError) as exc:
        legal_referral_request(case=written_off, reason="  ", actor=worker)
    assert list(exc.value.message_dict) == ["reason"]
    assert LegalReferral.objects.count() == 1


def test_the_case_page_s_visit_and_legal_cards(client):
    case, li, _wang, lead = _world("legal")
    for user in (li, lead):
        user.user_permissions.add(Permission.objects.get(codename="view_collectioncase"))
    collection_flows_sync()
    client.force_login(li)
    page = client.get(f"/collection/cases/{case.pk}/").content.decode()
    assert 'id="legal-task"' in page and 'id="refer-legal"' in page and 'id="record-visit"' in page
    assert 'id="done"' not in page  # no call task open
    url = f"/collection/cases/{case.pk}/"
    response = client.post(url, {"action": "visit", "result": "nowhere"})
    assert response.status_code == 422 and not FieldVisit.objects.exists()
    response = client.post(url, {"action": "visit", "result": "refused", "notes": "Door shut"})
    assert (response.status_code, FieldVisit.objects.get().result) == (303, "refused")
    assert client.post(url, {"action": "legal", "reason": ""}).status_code == 422
    response = client.post(url, {"action": "legal", "reason": "Assets found"})
    referral = LegalReferral.objects.get()
    assert (response.status_code, referral.status) == (303, "requested")
    page = client.get(url).content.decode()
    assert f'id="approve-referral-{referral.pk}"' not in page and 'id="refer-legal"' not in page
    response = client.post(url, {"action": "legal_decide", "referral": referral.pk, "decision": "approve"})
    assert response.status_code == 403  # li is not the lead
    client.force_login(lead)
    assert f'id="approve-referral-{referral.pk}"' in client.get(url).content.decode()
    response = client.post(url, {"action": "legal_decide", "referral": referral.pk, "decision": "approve"})
    assert (response.status_code, LegalReferral.objects.get().status) == (303, "approved")
    response = client.post(url, {"action": "legal_decide", "referral": referral.pk, "decision": "approve"})
    assert response.status_code == 422  # decided already
    client.cookies["django_language"] = "zh-hans"
    page = client.get(url).content.decode()
    assert "法务移交" in page and "外访" in page
