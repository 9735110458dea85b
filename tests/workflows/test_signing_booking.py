"""Booking, rescheduling, cancelling, completing and no-shows of remote signing: each change
recorded with who, from and to; illegal moves refused; bad input names the field."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from creditfactory.core.models import StateTransition
from creditfactory.core.state import transitions_for
from tests.factories import make_branch, make_staff
from tests.workflows.factories import at, make_application, make_schedule, make_signing_group
from workflows.models import SigningAppointment, SigningHoliday, SigningSlot
from workflows.services.signing import (
    SlotFull,
    signing_book,
    signing_cancel,
    signing_complete,
    signing_mark_no_show,
    signing_reschedule,
)

MONDAY = date(2030, 3, 4)
NOW = at(MONDAY, 8)


@pytest.fixture
def branch(db):
    return make_branch("sh")


@pytest.fixture
def officer(branch):
    return make_staff("officer", branch)


@pytest.fixture
def schedule(branch, officer):
    return make_schedule(work_group=make_signing_group(branch=branch, members=[officer]), capacity=2)


@pytest.fixture
def application(branch):
    return make_application(branch=branch)


def book(application, schedule, start, *, actor=None, **kwargs):
    return signing_book(application=application, slot_start=start, schedule=schedule, actor=actor, now=NOW, **kwargs)


def history(appointment):
    return [(t.from_state, t.to_state, t.actor.username if t.actor else t.actor_label)
            for t in transitions_for(appointment).order_by("at", "id")]


def counters(schedule):
    return {f"{s.start.astimezone(schedule.tz):%H:%M}": s.booked
            for s in SigningSlot.objects.filter(schedule=schedule).order_by("start")}


def test_booking_takes_a_place_and_records_who(application, schedule, officer):
    appointment = book(application, schedule, at(MONDAY, 9, 30), actor=officer)
    assert (appointment.status, appointment.channel, appointment.booked_by) == ("booked", "back_office", officer)
    assert (appointment.slot_start, appointment.slot_end) == (at(MONDAY, 9, 30), at(MONDAY, 10))
    assert counters(schedule) == {"09:30": 1}
    assert history(appointment) == [("", "booked", "officer")]


def test_a_partner_booking_is_labelled(application, schedule):
    appointment = book(application, schedule, at(MONDAY, 9), actor=None, actor_label="partner:acme", channel="api")
    assert (appointment.booked_by, appointment.booked_by_label, appointment.channel) == (None, "partner:acme", "api")
    assert history(appointment) == [("", "booked", "partner:acme")]


def test_booking_resolves_the_schedule_from_the_work_group(application, schedule):
    appointment = signing_book(application=application, slot_start=at(MONDAY, 9), work_group=schedule.work_group,
                               actor_label="system", now=NOW)
    assert appointment.schedule == schedule


@pytest.mark.parametrize("start, code", [
    (at(MONDAY, 7, 30), "past"),
    (at(MONDAY, 9, 15), "not_a_slot"),
    (at(MONDAY, 12, 0), "not_a_slot"),
    (at(MONDAY + timedelta(days=5), 9, 0), "closed_day"),
    (at(MONDAY + timedelta(days=40), 9, 0), "too_far"),
])
def test_a_slot_outside_the_schedule_is_refused_naming_slot_start(application, schedule, start, code):
    with pytest.raises(ValidationError) as error:
        book(application, schedule, start)
    assert list(error.value.message_dict) == ["slot_start"]
    assert error.value.error_dict["slot_start"][0].code == code
    assert SigningAppointment.objects.count() == 0
    assert SigningSlot.objects.count() == 0


def test_a_naive_slot_start_is_refused(application, schedule):
    from datetime import datetime

    with pytest.raises(ValidationError) as error:
        book(application, schedule, datetime(2030, 3, 4, 9, 0))
    assert error.value.error_dict["slot_start"][0].code == "naive"


def test_a_holiday_is_refused_with_its_name(application, schedule):
    SigningHoliday.objects.create(date=MONDAY, name="清明节")
    with pytest.raises(ValidationError) as error:
        book(application, schedule, at(MONDAY, 9))
    assert error.value.message_dict == {"slot_start": ["2030-03-04 is a holiday (清明节): no signing."]}
    assert SigningAppointment.objects.count() == 0


def test_a_full_slot_is_refused_and_nothing_changes(branch, schedule):
    first, second, third = (make_application(branch=branch) for _ in range(3))
    book(first, schedule, at(MONDAY, 9))
    book(second, schedule, at(MONDAY, 9))
    with pytest.raises(SlotFull) as error:
        book(third, schedule, at(MONDAY, 9))
    assert error.value.error_dict["slot_start"][0].code == "slot_full"
    assert counters(schedule) == {"09:00": 2}
    assert not SigningAppointment.objects.filter(application=third).exists()


def test_one_active_appointment_per_application(application, schedule):
    book(application, schedule, at(MONDAY, 9))
    with pytest.raises(ValidationError) as error:
        book(application, schedule, at(MONDAY, 10))
    assert error.value.error_dict["application"][0].code == "already_booked"
    assert counters(schedule) == {"09:00": 1}


def test_a_closed_application_cannot_be_booked(branch, schedule):
    rejected = make_application(branch=branch, status="rejected")
    with pytest.raises(ValidationError) as error:
        book(rejected, schedule, at(MONDAY, 9))
    assert list(error.value.message_dict) == ["application"]
    assert SigningSlot.objects.count() == 0


def test_reschedule_moves_the_place_and_records_both_times(application, schedule, officer):
    appointment = book(application, schedule, at(MONDAY, 9))
    SigningAppointment.objects.filter(pk=appointment.pk).update(reminder_sent_at=NOW)
    moved = signing_reschedule(appointment=appointment, slot_start=at(MONDAY, 14, 30), actor=officer,
                               reason="applicant asked", now=NOW)
    assert (moved.status, moved.slot_start, moved.slot_end) == ("rescheduled", at(MONDAY, 14, 30), at(MONDAY, 15))
    assert (moved.reschedule_count, moved.reminder_sent_at) == (1, None)
    assert counters(schedule) == {"09:00": 0, "14:30": 1}
    assert history(moved) == [("", "booked", "system"), ("booked", "rescheduled", "officer")]
    last = transitions_for(moved).order_by("-at", "-id").first()
    assert last.reason == "Moved from 2030-03-04 09:00 to 2030-03-04 14:30. applicant asked"
    again = signing_reschedule(appointment=moved, slot_start=at(MONDAY, 15), actor=officer, now=NOW)
    assert again.reschedule_count == 2
    assert counters(schedule) == {"09:00": 0, "14:30": 0, "15:00": 1}
    assert [h[1] for h in history(again)] == ["booked", "rescheduled", "rescheduled"]
    assert list(moved.history.values_list("slot_start", flat=True).order_by("history_id")) == [
        at(MONDAY, 9), at(MONDAY, 14, 30), at(MONDAY, 15)]


def test_reschedule_into_a_full_slot_keeps_the_old_place(branch, application, schedule):
    appointment = book(application, schedule, at(MONDAY, 9))
    for _ in range(2):
        book(make_application(branch=branch), schedule, at(MONDAY, 10))
    with pytest.raises(SlotFull):
        signing_reschedule(appointment=appointment, slot_start=at(MONDAY, 10), actor_label="partner:acme", now=NOW)
    appointment.refresh_from_db()
    assert (appointment.status, appointment.slot_start) == ("booked", at(MONDAY, 9))
    assert counters(schedule) == {"09:00": 1, "10:00": 2}


def test_reschedule_to_the_same_time_is_refused(application, schedule):
    appointment = book(application, schedule, at(MONDAY, 9))
    with pytest.raises(ValidationError) as error:
        signing_reschedule(appointment=appointment, slot_start=at(MONDAY, 9), now=NOW)
    assert error.value.error_dict["slot_start"][0].code == "same_slot"
    assert counters(schedule) == {"09:00": 1}


def test_cancel_releases_the_place_and_needs_a_reason(application, schedule, officer):
    appointment = book(application, schedule, at(MONDAY, 9))
    with pytest.raises(ValidationError) as error:
        signing_cancel(appointment=appointment, reason="  ", actor=officer)
    assert list(error.value.message_dict) == ["reason"]
    assert counters(schedule) == {"09:00": 1}
    cancelled = signing_cancel(appointment=appointment, reason="applicant withdrew", actor=officer)
    assert cancelled.status == "cancelled"
    assert counters(schedule) == {"09:00": 0}
    last = transitions_for(cancelled).order_by("-at", "-id").first()
    assert (last.from_state, last.to_state, last.actor, last.reason) == ("booked", "cancelled", officer,
                                                                          "applicant withdrew")
    # The application may book again once its appointment is cancelled.
    assert book(application, schedule, at(MONDAY, 10)).status == "booked"


def test_complete_records_the_officer_result_and_recording(application, schedule, officer):
    appointment = book(application, schedule, at(MONDAY, 9))
    done = signing_complete(appointment=appointment, officer=officer, result="passed", notes="ID checked",
                            recording_ref="rec://2030/03/04/abc", now=at(MONDAY, 9, 25))
    done.refresh_from_db()
    assert (done.status, done.officer, done.result, done.notes, done.recording_ref) == (
        "completed", officer, "passed", "ID checked", "rec://2030/03/04/abc")
    assert done.completed_at == at(MONDAY, 9, 25)
    assert history(done) == [("", "booked", "system"), ("booked", "completed", "officer")]
    assert counters(schedule) == {"09:00": 1}  # the place was used, not given back


@pytest.mark.parametrize("result, notes, recording, field", [
    ("passed", "", "", "recording_ref"),
    ("failed", "", "rec://1", "notes"),
    ("maybe", "x", "rec://1", "result"),
])
def test_complete_validates_the_outcome(application, schedule, officer, result, notes, recording, field):
    appointment = book(application, schedule, at(MONDAY, 9))
    with pytest.raises(ValidationError) as error:
        signing_complete(appointment=appointment, officer=officer, result=result, notes=notes,
                         recording_ref=recording)
    assert list(error.value.message_dict) == [field]
    appointment.refresh_from_db()
    assert (appointment.status, appointment.result) == ("booked", "")


def test_only_the_work_group_can_complete(branch, application, schedule):
    outsider = make_staff("outsider", branch)
    appointment = book(application, schedule, at(MONDAY, 9))
    with pytest.raises(ValidationError) as error:
        signing_complete(appointment=appointment, officer=outsider, result="passed", recording_ref="rec://1")
    assert list(error.value.message_dict) == ["officer"]
    assert StateTransition.objects.filter(to_state="completed").count() == 0


def test_no_show_only_after_the_slot_started(application, schedule, officer):
    appointment = book(application, schedule, at(MONDAY, 9))
    with pytest.raises(ValidationError) as error:
        signing_mark_no_show(appointment=appointment, actor=officer, now=at(MONDAY, 8, 59))
    assert error.value.error_dict["status"][0].code == "not_started"
    marked = signing_mark_no_show(appointment=appointment, actor=officer, now=at(MONDAY, 9, 20))
    assert (marked.status, marked.officer) == ("no_show", officer)
    assert history(marked)[-1] == ("booked", "no_show", "officer")


@pytest.mark.parametrize("final", ["completed", "cancelled", "no_show"])
def test_a_finished_appointment_cannot_move_again(application, schedule, officer, final):
    appointment = book(application, schedule, at(MONDAY, 9))
    if final == "completed":
        signing_complete(appointment=appointment, officer=officer, result="passed", recording_ref="rec://1")
    elif final == "cancelled":
        signing_cancel(appointment=appointment, reason="x", actor=officer)
    else:
        signing_mark_no_show(appointment=appointment, actor=officer, now=at(MONDAY, 10))
    before = StateTransition.objects.count()
    attempts = [
        lambda: signing_reschedule(appointment=appointment, slot_start=at(MONDAY, 10), now=NOW),
        lambda: signing_cancel(appointment=appointment, reason="again", actor=officer),
        lambda: signing_complete(appointment=appointment, officer=officer, result="passed", recording_ref="r"),
        lambda: signing_mark_no_show(appointment=appointment, actor=officer, now=at(MONDAY, 10)),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError) as error:
            attempt()
        assert error.value.error_dict["status"][0].code == "illegal_transition"
    appointment.refresh_from_db()
    assert appointment.status == final
    assert StateTransition.objects.count() == before
    assert SigningSlot.objects.get(start=at(MONDAY, 9)).booked == (0 if final == "cancelled" else 1)
    assert not SigningSlot.objects.filter(start=at(MONDAY, 10)).exists()
