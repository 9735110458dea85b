"""The case page's hardship request and its four-eyes decision, a lead's reassignment, and the
workbench's configurable priority — through the back office, as the collectors use them."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from collection.models import CollectionCase, CompliancePolicy, ComplianceRefusal, HardshipHold
from creditfactory.core.models import StateTransition
from servicing.models import Loan
from servicing.services.calendar import business_date_set
from tests.collection.factories import make_case, make_work_group
from tests.factories import make_staff
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)


@pytest.fixture(autouse=True)
def _setup():
    business_date_set(date=DAY, reason="test")
    CompliancePolicy.objects.update(contact_from=datetime.time(0, 0), contact_until=datetime.time(23, 59, 59, 999999))


def _staff(loan, name, *perms):
    user = make_staff(name, loan.branch)
    for perm in ("view_collectioncase", *perms):
        user.user_permissions.add(Permission.objects.get(codename=perm))
    return type(user).objects.get(pk=user.pk)


def _page(client, case):
    return client.get(f"/collection/cases/{case.pk}/").content.decode()


def test_a_collector_requests_a_hardship_hold_and_someone_else_approves_it_on_the_case_page(client):
    loan = make_loan()
    li = _staff(loan, "li")
    case = make_case(loan, work_group=make_work_group(members=[li]))
    client.force_login(li)
    assert client.post(f"/collection/cases/{case.pk}/", {"action": "hardship", "reason": "  "}).status_code == 422
    response = client.post(f"/collection/cases/{case.pk}/", {"action": "hardship", "reason": "Hospitalised"})
    assert (response.status_code, response["Location"]) == (303, f"/collection/cases/{case.pk}/")
    hold = HardshipHold.objects.get()
    assert (hold.status, hold.reason, hold.requested_by) == ("requested", "Hospitalised", li)
    assert 'id="approve-hold-' not in _page(client, case)  # li may not decide
    # The requester cannot approve their own request, even with the permission (four eyes).
    li.user_permissions.add(Permission.objects.get(codename="approve_hardshiphold"))
    client.force_login(type(li).objects.get(pk=li.pk))
    own = client.post(f"/collection/cases/{case.pk}/", {"action": "hardship_decide", "hold": hold.pk,
                                                         "decision": "approve"})
    assert own.status_code == 403
    assert "someone other than who made it" in own.content.decode()
    manager = _staff(loan, "wang", "approve_hardshiphold", "work_on_cases")
    client.force_login(manager)
    assert f'id="approve-hold-{hold.pk}"' in _page(client, case)
    response = client.post(f"/collection/cases/{case.pk}/", {"action": "hardship_decide", "hold": hold.pk,
                                                              "decision": "approve"})
    assert response.status_code == 303
    hold.refresh_from_db()
    assert (hold.status, hold.start, hold.end, hold.decided_by) == (
        "approved", DAY, DAY + datetime.timedelta(days=29), manager)
    again = client.post(f"/collection/cases/{case.pk}/", {"action": "hardship_decide", "hold": hold.pk,
                                                           "decision": "reject"})
    assert again.status_code == 422 and "decided already" in again.content.decode()
    # Contact is now refused, naming the rule.
    client.force_login(li)
    refused = client.post(f"/collection/cases/{case.pk}/", {"action": "record", "channel": "call",
                                                             "party": "borrower", "result": "reached"})
    assert refused.status_code == 422 and "hardship hold" in refused.content.decode()
    assert ComplianceRefusal.objects.get().rule == "hardship"


def test_a_rejection_keeps_contact_open_and_records_the_reason(client):
    loan = make_loan()
    li = _staff(loan, "li")
    case = make_case(loan, work_group=make_work_group(members=[li]))
    client.force_login(li)
    client.post(f"/collection/cases/{case.pk}/", {"action": "hardship", "reason": "Lost job"})
    hold = HardshipHold.objects.get()
    client.force_login(_staff(loan, "wang", "approve_hardshiphold", "work_on_cases"))
    other = make_case()
    wrong_case = client.post(f"/collection/cases/{other.pk}/", {"action": "hardship_decide", "hold": hold.pk,
                                                                 "decision": "reject"})
    assert wrong_case.status_code in (404, 422)
    response = client.post(f"/collection/cases/{case.pk}/", {"action": "hardship_decide", "hold": hold.pk,
                                                              "decision": "reject", "reason": "no evidence"})
    assert response.status_code == 303
    hold.refresh_from_db()
    assert (hold.status, hold.start) == ("rejected", None)
    transition = StateTransition.objects.filter(object_id=str(hold.pk), to_state="rejected").get()
    assert "no evidence" in str(transition.reason)
    client.force_login(li)
    assert client.post(f"/collection/cases/{case.pk}/", {"action": "record", "channel": "call", "party": "borrower",
                                                          "result": "reached"}).status_code == 303


def test_the_lead_reassigns_a_case_to_a_member_and_others_may_not(client):
    loan = make_loan()
    lead, li, zhao = _staff(loan, "lead"), _staff(loan, "li"), _staff(loan, "zhao")
    group = make_work_group(members=[li, zhao], lead=lead)
    outsider = _staff(loan, "outsider")
    make_work_group("elsewhere", members=[outsider])
    case = make_case(loan, work_group=group, collector=li)
    client.force_login(li)
    assert 'id="reassign-form"' not in _page(client, case)
    assert client.post(f"/collection/cases/{case.pk}/", {"action": "reassign", "collector": zhao.pk}).status_code == 403
    client.force_login(lead)
    assert 'id="reassign-form"' in _page(client, case)
    refused = client.post(f"/collection/cases/{case.pk}/", {"action": "reassign", "collector": outsider.pk})
    assert refused.status_code == 422 and "is not a member of" in refused.content.decode()
    response = client.post(f"/collection/cases/{case.pk}/", {"action": "reassign", "collector": zhao.pk})
    assert response.status_code == 303
    case.refresh_from_db()
    assert (case.collector, case.work_group) == (zhao, group)
    transition = StateTransition.objects.filter(object_id=str(case.pk), field="collector").get()
    assert (transition.from_state, transition.to_state, transition.actor) == (str(li.pk), str(zhao.pk), lead)
    client.force_login(zhao)
    assert f">#{case.pk}<" in client.get("/collection/cases/").content.decode()


def test_the_workbench_order_follows_the_configured_priority(client):
    loans = [make_loan(), make_loan(), make_loan()]
    for loan, (principal, dpd) in zip(loans, [(Decimal("1000.00"), 40), (Decimal("9000.00"), 5),
                                              (Decimal("3000.00"), 20)]):
        Loan.objects.filter(pk=loan.pk).update(principal_outstanding=principal, days_past_due=dpd, status="overdue")
    li = _staff(loans[0], "li")
    group = make_work_group(members=[li])
    cases = [make_case(loan, work_group=group) for loan in loans]
    client.force_login(li)

    def order():
        page = client.get("/collection/cases/").content.decode()
        return [int(pk) for pk in re.findall(r'href="/collection/cases/(\d+)/"', page)], page

    ids, page = order()  # principal × DPD: 60,000, 45,000, 40,000
    assert ids == [cases[2].pk, cases[1].pk, cases[0].pk]
    assert "principal outstanding × days past due" in page.lower()
    CompliancePolicy.objects.update(workbench_priority="dpd")
    ids, page = order()
    assert ids == [cases[0].pk, cases[2].pk, cases[1].pk]
    assert "by priority: Days past due." in page
    CompliancePolicy.objects.update(workbench_priority="amount")
    assert order()[0] == [cases[1].pk, cases[2].pk, cases[0].pk]
    assert CollectionCase.objects.count() == 3
