"""The close's repayment reminders (start of day): one text 3 days before each due date and one
on it, queued together with the de-duplication key ``reminder/<loan>/<installment>/<days>``; a
re-run of the date queues none and counts none."""

import datetime
from decimal import Decimal

import pytest

from creditfactory.core.models import SmsMessage
from servicing.services.calendar import business_date_set
from servicing.services.close import close_date, close_day
from tests.servicing.repayment_factories import make_loan

pytestmark = pytest.mark.django_db


def test_a_reminder_three_days_before_and_on_the_due_date_once_each():
    business_date_set(date=datetime.date(2026, 12, 4), reason="test")
    loan = make_loan(amount=Decimal("20000.00"), term=12)  # installment 1 due 2027-01-04: 1,730.53
    results = close_day(until=datetime.date(2027, 1, 3))
    assert [(r["date"], r["reminders"]) for r in results if r["reminders"]] == [
        (datetime.date(2026, 12, 31), 1), (datetime.date(2027, 1, 3), 1)]  # starts of 01-01 and 01-04
    texts = SmsMessage.objects.order_by("id")
    assert [t.dedupe_key for t in texts] == [f"reminder/{loan.number}/1/3", f"reminder/{loan.number}/1/0"]
    assert all("1730.53" in t.text and "2027-01-04" in t.text for t in texts)
    assert texts[0].related_object_id == str(loan.installments.get(number=1).pk)
    again = close_date(business_date=datetime.date(2027, 1, 3))
    assert (again["reminders"], again["rows_written"], SmsMessage.objects.count()) == (0, 0, 2)
