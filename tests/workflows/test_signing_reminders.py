"""The day-before reminder of remote signing: one SMS per active appointment of the next day,
exactly once per date however often the task runs, none for cancelled appointments."""

from datetime import date, timedelta

import pytest
from django.conf import settings

from creditfactory.core.messaging.sandbox import sandbox_inbox
from creditfactory.core.models import SandboxSms, SmsMessage
from tests.factories import make_branch
from tests.workflows.factories import at, make_application, make_schedule, make_signing_group
from workflows.models import SigningAppointment
from workflows.services.signing import signing_book, signing_cancel, signing_reschedule
from workflows.tasks import signing_send_reminders

MONDAY = date(2030, 3, 4)
TUESDAY = MONDAY + timedelta(days=1)
NOW = at(MONDAY, 8)


@pytest.fixture
def schedule(db):
    return make_schedule(work_group=make_signing_group(branch=make_branch("sh")), capacity=2)


def book(schedule, start, mobile):
    application = make_application(branch=schedule.work_group.branch, mobile=mobile)
    return signing_book(application=application, slot_start=start, schedule=schedule, now=NOW)


def run(day: date) -> dict:
    return signing_send_reminders.apply(kwargs={"business_date": day.isoformat()}).get()


def test_the_reminder_goes_out_once_the_day_before(schedule, django_capture_on_commit_callbacks):
    tomorrow = book(schedule, at(TUESDAY, 9, 30), "13800138001")
    cancelled = book(schedule, at(TUESDAY, 10), "13800138002")
    signing_cancel(appointment=cancelled, reason="withdrawn", actor=None, actor_label="partner:acme")
    later = book(schedule, at(TUESDAY + timedelta(days=1), 9), "13800138003")
    today = book(schedule, at(MONDAY, 14), "13800138004")

    with django_capture_on_commit_callbacks(execute=True):
        assert run(MONDAY) == {"sent": 1, "skipped": 0}
    message = SmsMessage.objects.get()
    assert (message.template, message.related, message.status) == ("signing_reminder", tomorrow, "sent")
    assert [m.text for m in sandbox_inbox("13800138001")] == [
        "【CreditFactory】您预约的远程面签时间为2030-03-05 09:30，请准时参加。"]
    assert sandbox_inbox("13800138002").count() == 0
    tomorrow.refresh_from_db()
    assert tomorrow.reminder_sent_at is not None
    assert list(SigningAppointment.objects.filter(reminder_sent_at__isnull=False)) == [tomorrow]

    with django_capture_on_commit_callbacks(execute=True):
        assert run(MONDAY) == {"sent": 0, "skipped": 0}
    assert SmsMessage.objects.count() == 1
    assert SandboxSms.objects.count() == 1
    for appointment in (cancelled, later, today):
        appointment.refresh_from_db()
        assert appointment.reminder_sent_at is None


def test_a_rescheduled_appointment_is_reminded_of_its_new_time(schedule, django_capture_on_commit_callbacks):
    appointment = book(schedule, at(TUESDAY, 9), "13800138001")
    with django_capture_on_commit_callbacks(execute=True):
        run(MONDAY)
        moved = signing_reschedule(appointment=appointment, slot_start=at(TUESDAY + timedelta(days=1), 15),
                                   actor_label="partner:acme", now=NOW)
        assert moved.reminder_sent_at is None
        assert run(TUESDAY) == {"sent": 1, "skipped": 0}
        assert run(TUESDAY) == {"sent": 0, "skipped": 0}
    assert [m.text for m in sandbox_inbox("13800138001")] == [
        "【CreditFactory】您预约的远程面签时间为2030-03-05 09:00，请准时参加。",
        "【CreditFactory】您预约的远程面签时间为2030-03-06 15:00，请准时参加。",
    ]


def test_an_appointment_without_a_usable_mobile_is_skipped_and_retried_later(schedule,
                                                                            django_capture_on_commit_callbacks):
    appointment = book(schedule, at(TUESDAY, 9), "10800138000")
    with django_capture_on_commit_callbacks(execute=True):
        assert run(MONDAY) == {"sent": 0, "skipped": 1}
    appointment.refresh_from_db()
    assert appointment.reminder_sent_at is None
    assert SmsMessage.objects.count() == 0


def test_the_reminder_runs_daily_from_beat():
    from celery.schedules import crontab

    from creditfactory.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["workflows.signing-reminders"]
    assert entry["task"] == "workflows.signing_send_reminders"
    assert entry["schedule"] == crontab(hour=10, minute=0)
    app.loader.import_default_modules()
    assert {"workflows.signing_send_reminders", "core.sms_deliver"} <= set(app.tasks)
