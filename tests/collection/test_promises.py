"""Promises kept and broken (a broken one escalates the case one step, at the close), agency
commission only on what was repaid while the case was the agency's, and the automated reminders."""

import datetime
from decimal import Decimal

import pytest

from collection.models import AgencyAssignment, CollectionCase, ComplianceRefusal, Contact, Promise
from collection.services.agencies import agency_commission
from collection.services.contacts import contact_record, hardship_approve, hardship_request
from collection.services.reminders import collection_reminders_send
from creditfactory.core.models import SmsMessage
from servicing.services.calendar import business_date_set
from servicing.services.close import close_day
from servicing.services.repayments.posting import repayment_post
from tests.collection.factories import ensure_defaults, make_agency, make_case, make_strategy
from tests.factories import UserFactory
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 12, 4)
DUE = datetime.date(2027, 1, 4)
UTC = datetime.timezone.utc
D = Decimal


@pytest.fixture(autouse=True)
def _business_date():
    business_date_set(date=DAY, reason="test")


def _at(day):
    return datetime.datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 local


def _staff():
    from django.contrib.auth.models import Permission

    user = UserFactory(username="li")
    user.user_permissions.add(Permission.objects.get(codename="work_on_cases"))
    return user


def test_a_broken_promise_escalates_one_step_and_a_kept_one_does_not():
    make_strategy()
    broken_loan, kept_loan = make_loan(), make_loan()
    close_day(until=DUE)  # both overdue: cases at step 0 (SMS reminders)
    user = _staff()
    opened = DUE + datetime.timedelta(days=1)
    cases = {case.loan_id: case for case in CollectionCase.objects.all()}
    contact_record(case=cases[broken_loan.pk], channel="call", result="reached", actor=user, at=_at(opened),
                   promise_amount="500.00", promise_due_on=opened + datetime.timedelta(days=1))
    contact_record(case=cases[kept_loan.pk], channel="call", result="reached", actor=user, at=_at(opened),
                   promise_amount="500.00", promise_due_on=opened + datetime.timedelta(days=1))
    repayment_post(loan=kept_loan, amount="300.00", reference="p1")
    close_day()
    repayment_post(loan=kept_loan, amount="200.00", reference="p2")
    repayment_post(loan=broken_loan, amount="499.99", reference="p3")
    close_day()  # the close of the promised date; evaluated at the start of the next day
    promises = {p.case.loan_id: p for p in Promise.objects.select_related("case")}
    assert (promises[kept_loan.pk].status, promises[kept_loan.pk].paid) == ("kept", D("500.00"))
    assert (promises[broken_loan.pk].status, promises[broken_loan.pk].paid) == ("broken", D("499.99"))
    steps = dict(CollectionCase.objects.values_list("loan_id", "step"))
    assert steps == {broken_loan.pk: 1, kept_loan.pk: 0}
    broken_case = cases[broken_loan.pk]
    assert list(broken_case.stage_changes.order_by("id").values_list("from_step", "to_step", "dpd"))[-1] == (0, 1, 3)
    assert broken_case.promises.get().status == "broken"
    close_day()  # nothing more: the promise was evaluated once
    assert dict(CollectionCase.objects.values_list("loan_id", "step")) == steps


def test_commission_only_on_amounts_repaid_while_the_case_was_the_agency_s():
    agency = make_agency("A1", commission=D("15"))
    other = make_agency("A2", commission=D("10"))
    loan = make_loan()
    case = make_case(loan=loan, agency=agency)
    business_date_set(date=DUE + datetime.timedelta(days=1), reason="test")
    repayment_post(loan=loan, amount="100.00", reference="before")  # before the assignment
    AgencyAssignment.objects.create(case=case, agency=agency, commission_percent=D("15"),
                                    start=DUE + datetime.timedelta(days=2), end=DUE + datetime.timedelta(days=4))
    AgencyAssignment.objects.create(case=case, agency=other, commission_percent=D("10"),
                                    start=DUE + datetime.timedelta(days=4))
    business_date_set(date=DUE + datetime.timedelta(days=2), reason="test")
    repayment_post(loan=loan, amount="333.33", reference="during-1")
    business_date_set(date=DUE + datetime.timedelta(days=3), reason="test")
    repayment_post(loan=loan, amount="66.67", reference="during-2")
    business_date_set(date=DUE + datetime.timedelta(days=4), reason="test")
    repayment_post(loan=loan, amount="250.05", reference="after")  # the other agency's
    first = agency_commission(agency=agency)
    assert (first.recovered, first.commission, first.cases) == (D("400.00"), D("60.00"), 1)
    second = agency_commission(agency=other)
    assert (second.recovered, second.commission) == (D("250.05"), D("25.01"))  # 25.005 → 25.01
    windowed = agency_commission(agency=agency, date_from=DUE + datetime.timedelta(days=3))
    assert (windowed.recovered, windowed.commission) == (D("66.67"), D("10.00"))


def test_reminders_go_out_on_the_cadence_through_the_outbox_and_respect_hardship():
    from collection.models import CompliancePolicy

    # Contact hours all day: the reminders go out "now", whatever the hour the suite runs at.
    ensure_defaults()
    CompliancePolicy.objects.update(contact_from=datetime.time(0, 0), contact_until=datetime.time(23, 59, 59, 999999))
    make_strategy()  # step 0: SMS every 2 days
    loans = [make_loan(), make_loan()]
    close_day(until=DUE)
    day = DUE + datetime.timedelta(days=1)
    assert collection_reminders_send(business_date=day) == {"sent": 2, "refused": 0, "failed": 0}
    assert collection_reminders_send(business_date=day) == {"sent": 0, "refused": 0, "failed": 0}  # a re-run
    assert SmsMessage.objects.filter(template="collection_reminder").count() == 2
    assert Contact.objects.filter(channel="sms", result="sent").count() == 2
    assert collection_reminders_send(business_date=day + datetime.timedelta(days=1))["sent"] == 0  # cadence 2
    from django.contrib.auth.models import Permission

    approver = UserFactory(username="approver")
    approver.user_permissions.add(Permission.objects.get(codename="approve_hardshiphold"))
    case = CollectionCase.objects.get(loan=loans[0])
    hardship_approve(hold=hardship_request(case=case, reason="Hospitalised", actor=_staff()), actor=approver)
    assert collection_reminders_send(business_date=day + datetime.timedelta(days=2)) == {
        "sent": 1, "refused": 1, "failed": 0}
    assert ComplianceRefusal.objects.get().rule == "hardship"
