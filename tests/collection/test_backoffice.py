"""The collector's workbench (by priority), the case page (masked borrower data, one form for a
contact and a promise, refusals naming their rule with 422, a logged reveal) and branch scoping."""

import datetime
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from collection.models import CompliancePolicy, ComplianceRefusal, Contact, Promise
from servicing.models import Loan
from servicing.services.calendar import business_date_set
from tests.collection.factories import make_case, make_work_group
from tests.factories import make_branch, make_staff
from tests.servicing.repayment_factories import make_loan
from workflows.models import PiiReveal

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)


@pytest.fixture(autouse=True)
def _setup():
    business_date_set(date=DAY, reason="test")
    # Contact hours all day: the page records "now", whatever the hour the tests run at.
    CompliancePolicy.objects.update(contact_from=datetime.time(0, 0), contact_until=datetime.time(23, 59, 59, 999999))


def _collector(loan, name="li", *perms):
    user = make_staff(name, loan.branch)
    for perm in ("view_collectioncase", *perms):
        user.user_permissions.add(Permission.objects.get(codename=perm))
    return user


def test_the_workbench_lists_my_cases_by_principal_times_dpd(client):
    loans = [make_loan(), make_loan(), make_loan()]
    for loan, (principal, dpd) in zip(loans, [(Decimal("1000.00"), 40), (Decimal("9000.00"), 5),
                                              (Decimal("3000.00"), 20)]):
        Loan.objects.filter(pk=loan.pk).update(principal_outstanding=principal, days_past_due=dpd, status="overdue")
    li = _collector(loans[0])
    group = make_work_group(members=[li])
    cases = [make_case(loan, work_group=group) for loan in loans]
    make_case(make_loan(), work_group=make_work_group("others"))  # not li's
    client.force_login(li)
    page = client.get("/collection/cases/").content.decode()
    order = [page.index(f">#{case.pk}<") for case in (cases[2], cases[1], cases[0])]  # 60000, 45000, 40000
    assert order == sorted(order)
    assert len(re.findall(r'href="/collection/cases/\d+/"', page)) == 3


def test_a_collector_records_a_contact_and_a_promise_in_one_form(client):
    case = make_case()
    li = _collector(case.loan)
    client.force_login(li)
    assert client.post(f"/collection/cases/{case.pk}/", {
        "action": "record", "channel": "call", "party": "borrower", "result": "reached"}).status_code == 403
    make_work_group(members=[li])
    type(case).objects.filter(pk=case.pk).update(work_group=make_work_group())
    page = client.get(f"/collection/cases/{case.pk}/").content.decode()
    assert case.loan.applicant.mobile_masked in page and case.loan.applicant.mobile not in page
    response = client.post(f"/collection/cases/{case.pk}/", {
        "action": "record", "channel": "call", "party": "borrower", "result": "reached", "notes": "will pay",
        "promise_amount": "1730.53", "promise_due_on": "2026-12-10"})
    assert (response.status_code, response["Location"]) == (303, f"/collection/cases/{case.pk}/")
    promise = Promise.objects.get()
    assert (promise.amount, promise.due_on, promise.contact.result, promise.collector) == (
        Decimal("1730.53"), datetime.date(2026, 12, 10), "promised", li)


def test_a_refused_contact_names_its_rule_and_a_half_promise_names_its_field(client):
    case = make_case()
    li = _collector(case.loan, "li", "work_on_cases")
    client.force_login(li)
    response = client.post(f"/collection/cases/{case.pk}/", {
        "action": "record", "channel": "call", "party": "other", "result": "reached"})
    assert response.status_code == 422
    assert "Third parties: only the registered emergency contact" in response.content.decode()
    assert ComplianceRefusal.objects.get().rule == "third_party"
    response = client.post(f"/collection/cases/{case.pk}/", {
        "action": "record", "channel": "call", "party": "borrower", "result": "reached", "promise_amount": "100"})
    assert response.status_code == 422
    assert "A promise needs both its amount and its date." in response.content.decode()
    assert not Contact.objects.exists()


def test_a_reveal_is_logged_and_needs_its_permission(client):
    case = make_case()
    li = _collector(case.loan)
    client.force_login(li)
    body = {"action": "reveal", "field": "mobile", "reason": "calling the borrower"}
    assert client.post(f"/collection/cases/{case.pk}/", body).status_code == 403
    li.user_permissions.add(Permission.objects.get(codename="reveal_applicant_pii"))
    li = type(li).objects.get(pk=li.pk)
    client.force_login(li)
    response = client.post(f"/collection/cases/{case.pk}/", body)
    assert response.status_code == 200 and case.loan.applicant.mobile in response.content.decode()
    reveal = PiiReveal.objects.get()
    assert (reveal.user, reveal.field, reveal.reason) == (li, "mobile", "calling the borrower")


def test_a_case_of_another_branch_answers_404(client):
    case = make_case()
    outsider = make_staff("outsider", make_branch("far", name="Far away"))
    outsider.user_permissions.add(Permission.objects.get(codename="view_collectioncase"))
    client.force_login(outsider)
    assert client.get(f"/collection/cases/{case.pk}/").status_code == 404


def test_the_pages_speak_chinese(client):
    case = make_case()
    li = _collector(case.loan, "li", "work_on_cases", "view_collection_figures")
    client.force_login(li)
    client.cookies["django_language"] = "zh-hans"
    page = client.get(f"/collection/cases/{case.pk}/").content.decode()
    assert "记录联系或承诺还款" in page and "登记的紧急联系人" in page and "逾期阶段" in page
    response = client.post(f"/collection/cases/{case.pk}/", {
        "action": "record", "channel": "call", "party": "other", "result": "reached"})
    assert "只能联系借款人本人及其登记的紧急联系人。" in response.content.decode()
    assert "各逾期阶段回收率" in client.get("/collection/figures/").content.decode()
    assert "催收工作台" in client.get("/collection/cases/").content.decode()
