"""Compliance enforced: every rule refuses the contact (naming the rule) and logs the refusal;
contacts and promises in one call; hardship holds with four-eyes approval; agencies only on
their own cases; reassignment by the lead."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError

from collection.models import CompliancePolicy, ComplianceRefusal, Contact, EmergencyContact, Promise
from collection.services.agencies import case_reassign
from collection.services.contacts import (
    ContactRefused, contact_record, hardship_approve, hardship_reject, hardship_request,
)
from creditfactory.core.state import transitions_for
from servicing.services.calendar import business_date_set
from tests.collection.factories import make_agency, make_case, make_work_group
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
UTC = datetime.timezone.utc
TEN = datetime.datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=DAY, reason="test")


def _collector(name="li", *perms):
    user = UserFactory(username=name)
    for perm in perms:
        user.user_permissions.add(Permission.objects.get(codename=perm))
    return user


@pytest.fixture
def collector():
    return _collector("li")


@pytest.fixture
def case(collector):
    return make_case(work_group=make_work_group(members=[collector]))


def _refused(rule, **kwargs):
    before = ComplianceRefusal.objects.count()
    with pytest.raises(ContactRefused) as info:
        contact_record(**kwargs)
    assert info.value.rule == rule
    assert ComplianceRefusal.objects.count() == before + 1
    refusal = ComplianceRefusal.objects.order_by("-id").first()
    assert refusal.rule == rule
    return info.value


def test_a_contact_in_hours_is_recorded(case, collector):
    contact = contact_record(case=case, channel="call", result="reached", actor=collector, notes="will pay",
                             at=TEN)
    assert (contact.case, contact.applicant, contact.channel, contact.party, contact.result, contact.local_date,
            contact.collector) == (case, case.loan.applicant, "call", "borrower", "reached", DAY, collector)
    assert not ComplianceRefusal.objects.exists()


@pytest.mark.parametrize("utc_hour, utc_minute", [(23, 59), (13, 0), (13, 30)])  # 07:59, 21:00, 21:30 local
def test_contacts_outside_contact_hours_are_refused_and_logged(case, collector, utc_hour, utc_minute):
    at = datetime.datetime(2026, 12, 4, utc_hour, utc_minute, tzinfo=UTC)
    error = _refused("contact_hours", case=case, channel="call", result="reached", actor=collector, at=at)
    assert str(error) == "Contacts are allowed from 08:00 to 21:00 (Asia/Shanghai) only."
    assert not Contact.objects.exists()


def test_the_contact_hours_are_configurable(case, collector):
    CompliancePolicy.objects.update(contact_from=datetime.time(7, 0))
    at = datetime.datetime(2026, 12, 3, 23, 30, tzinfo=UTC)  # 07:30 local on the 4th
    assert contact_record(case=case, channel="call", result="reached", actor=collector, at=at).local_date == DAY


def test_a_fourth_contact_of_a_borrower_in_a_day_is_refused_across_channels_and_collectors(case, collector):
    other = _collector("wang", "work_on_cases")
    contact_record(case=case, channel="call", result="no_answer", actor=collector, at=TEN)
    contact_record(case=case, channel="sms", result="sent", actor=other, at=TEN + datetime.timedelta(hours=1))
    contact_record(case=case, channel="call", result="reached", actor=other, at=TEN + datetime.timedelta(hours=2))
    error = _refused("daily_limit", case=case, channel="visit", result="reached", actor=collector,
                     at=TEN + datetime.timedelta(hours=3))
    assert str(error) == "The borrower was contacted 3 times today: the limit is 3."
    assert Contact.objects.count() == 3
    # the next local day starts at 16:00 UTC
    contact_record(case=case, channel="call", result="reached", actor=collector, at=TEN + datetime.timedelta(days=1))
    assert Contact.objects.count() == 4


def test_third_parties_other_than_the_registered_emergency_contact_are_refused(case, collector):
    _refused("third_party", case=case, channel="call", result="reached", actor=collector, party="other", at=TEN)
    _refused("third_party", case=case, channel="call", result="reached", actor=collector,
             party="emergency_contact", at=TEN)
    stranger = make_case()
    someone_else_s = EmergencyContact.objects.create(applicant=stranger.loan.applicant, name="张三", relation="friend",
                                                     mobile="13900000001")
    _refused("third_party", case=case, channel="call", result="reached", actor=collector,
             party="emergency_contact", emergency_contact=someone_else_s, at=TEN)
    registered = EmergencyContact.objects.create(applicant=case.loan.applicant, name="李四", relation="sister",
                                                 mobile="13900000002")
    contact = contact_record(case=case, channel="call", result="reached", actor=collector,
                             party="emergency_contact", emergency_contact=registered, at=TEN)
    assert (contact.party, contact.emergency_contact, registered.mobile_masked) == (
        "emergency_contact", registered, "139****0002")
    assert ComplianceRefusal.objects.count() == 3


def test_no_contact_under_an_approved_hardship_hold_and_four_eyes_on_the_approval(case, collector):
    approver = _collector("zhao", "approve_hardshiphold")
    hold = hardship_request(case=case, reason="Hospitalised", actor=collector)
    with pytest.raises(PermissionDenied):
        hardship_approve(hold=hold, actor=collector)  # no permission
    requester_approver = _collector("qian", "approve_hardshiphold", "work_on_cases")
    own = hardship_request(case=case, reason="Lost job", actor=requester_approver)
    with pytest.raises(PermissionDenied):
        hardship_approve(hold=own, actor=requester_approver)
    hardship_reject(hold=own, actor=approver, reason="no evidence")
    contact_record(case=case, channel="call", result="reached", actor=collector, at=TEN)  # requested only: allowed
    hold = hardship_approve(hold=hold, actor=approver)
    assert (hold.status, hold.start, hold.end, hold.decided_by) == (
        "approved", DAY, DAY + datetime.timedelta(days=29), approver)
    error = _refused("hardship", case=case, channel="sms", result="sent", actor=collector, at=TEN)
    assert str(error) == "The borrower is under a hardship hold until 2027-01-02: no contact."
    business_date_set(date=DAY + datetime.timedelta(days=30), reason="test")
    assert contact_record(case=case, channel="call", result="reached", actor=collector,
                          at=TEN + datetime.timedelta(days=30))
    assert [(t.from_state, t.to_state) for t in transitions_for(hold).order_by("id")] == [
        ("", "requested"), ("requested", "approved")]


def test_a_closed_case_takes_no_contact(case, collector):
    type(case).objects.filter(pk=case.pk).update(status="closed")
    _refused("case_closed", case=case, channel="call", result="reached", actor=collector, at=TEN)


def test_only_the_case_s_agency_and_its_staff_record_contacts(case, collector):
    agency, other_agency = make_agency("A1"), make_agency("A2")
    type(case).objects.filter(pk=case.pk).update(agency=agency)
    with pytest.raises(PermissionDenied):
        contact_record(case=case, channel="call", result="reached", agency=other_agency, at=TEN)
    with pytest.raises(PermissionDenied):
        contact_record(case=case, channel="call", result="reached", actor=_collector("outsider"), at=TEN)
    assert contact_record(case=case, channel="call", result="reached", agency=agency, at=TEN).agency == agency
    assert not ComplianceRefusal.objects.exists()


def test_a_contact_and_a_promise_in_one_call(case, collector):
    contact = contact_record(case=case, channel="call", result="reached", actor=collector, at=TEN,
                             promise_amount="1730.53", promise_due_on=DAY + datetime.timedelta(days=5))
    promise = Promise.objects.get()
    assert (contact.result, promise.contact, promise.amount, promise.made_on, promise.due_on, promise.status) == (
        "promised", contact, Decimal("1730.53"), DAY, datetime.date(2026, 12, 9), "pending")


@pytest.mark.parametrize("amount, due, field", [("-1", 5, "promise_amount"), ("12.345", 5, "promise_amount"),
                                                ("abc", 5, "promise_amount"), ("100.00", -1, "promise_due_on")])
def test_a_wrong_promise_names_its_field_and_records_nothing(case, collector, amount, due, field):
    with pytest.raises(ValidationError) as info:
        contact_record(case=case, channel="call", result="reached", actor=collector, at=TEN,
                       promise_amount=amount, promise_due_on=DAY + datetime.timedelta(days=due))
    assert list(info.value.message_dict) == [field]
    assert not Contact.objects.exists() and not Promise.objects.exists()


def test_the_lead_reassigns_a_case_to_a_member(collector):
    lead, member = _collector("lead"), _collector("member")
    group = make_work_group("team", members=[collector, member], lead=lead)
    case = make_case(work_group=group, collector=collector)
    with pytest.raises(PermissionDenied):
        case_reassign(case=case, actor=collector, collector=member)
    with pytest.raises(ValidationError):
        case_reassign(case=case, actor=lead, collector=_collector("stranger"))
    case = case_reassign(case=case, actor=lead, collector=member)
    assert (case.collector, case.work_group) == (member, group)
    assert [(t.field, t.from_state, t.to_state) for t in transitions_for(case)] == [
        ("collector", str(collector.pk), str(member.pk))]
