"""Free-slot generation of remote signing: weekdays, windows, slot length, holidays, make-up
working days, notice and horizon, remaining capacity."""

from datetime import date, time, timedelta

import pytest
from django.core.exceptions import ValidationError

from tests.factories import make_branch
from tests.workflows.factories import at, make_application, make_schedule, make_signing_group
from workflows.models import HolidayKind, SigningHoliday, SigningSlot
from workflows.selectors.signing import signing_free_slots, signing_schedule_resolve
from workflows.signing_calendar import SlotRule, slots_on

MONDAY = date(2030, 3, 4)
NOW = at(MONDAY, 8)  # Monday 08:00, before the first window


def hm(slots):
    return [f"{s.start:%a %H:%M}" for s in slots]


@pytest.fixture
def schedule(db):
    branch = make_branch("sh")
    return make_schedule(work_group=make_signing_group(branch=branch), capacity=2)


def test_a_working_day_has_the_slots_of_both_windows(schedule):
    slots = signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY, now=NOW)
    assert [f"{s.start:%H:%M}-{s.end:%H:%M}" for s in slots] == [
        "09:00-09:30", "09:30-10:00", "10:00-10:30", "10:30-11:00", "11:00-11:30", "11:30-12:00",
        "14:00-14:30", "14:30-15:00", "15:00-15:30", "15:30-16:00", "16:00-16:30", "16:30-17:00", "17:00-17:30",
    ]
    assert {s.remaining for s in slots} == {2}
    assert slots[0].start.isoformat() == "2030-03-04T09:00:00+08:00"


def test_a_slot_must_fit_in_its_window():
    from zoneinfo import ZoneInfo

    rule = SlotRule(weekdays=frozenset({0}), windows=((time(9), time(10, 40)),), slot_minutes=45,
                    tz=ZoneInfo("Asia/Shanghai"))
    assert [f"{s.start:%H:%M}-{s.end:%H:%M}" for s in slots_on(rule, MONDAY)] == ["09:00-09:45", "09:45-10:30"]


def test_weekends_have_no_slots_and_the_week_has_65(schedule):
    slots = signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY + timedelta(days=6), now=NOW)
    assert len(slots) == 5 * 13
    assert {s.start.strftime("%a") for s in slots} == {"Mon", "Tue", "Wed", "Thu", "Fri"}


def test_only_future_slots_are_offered(schedule):
    slots = signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY, now=at(MONDAY, 11, 10))
    assert hm(slots) == ["Mon 11:30", "Mon 14:00", "Mon 14:30", "Mon 15:00", "Mon 15:30", "Mon 16:00", "Mon 16:30",
                         "Mon 17:00"]


def test_minimum_notice_hides_slots_starting_too_soon(schedule):
    schedule.min_notice_minutes = 120
    schedule.save()
    slots = signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY, now=at(MONDAY, 14, 0))
    assert hm(slots) == ["Mon 16:00", "Mon 16:30", "Mon 17:00"]


def test_past_days_and_days_beyond_the_horizon_are_dropped(schedule):
    schedule.horizon_days = 2
    schedule.save()
    slots = signing_free_slots(schedule=schedule, date_from=MONDAY - timedelta(days=3),
                               date_to=MONDAY + timedelta(days=10), now=at(MONDAY, 17, 0))
    assert [f"{s.start:%m-%d %H:%M}" for s in slots][:2] == ["03-04 17:00", "03-05 09:00"]
    assert {s.start.date() for s in slots} == {MONDAY, MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)}
    assert len(slots) == 1 + 13 + 13


def test_a_general_holiday_closes_the_day(schedule):
    SigningHoliday.objects.create(date=MONDAY + timedelta(days=1), name="Test holiday")
    slots = signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY + timedelta(days=2), now=NOW)
    assert sorted({s.start.strftime("%a") for s in slots}) == ["Mon", "Wed"]
    assert len(slots) == 26


def test_a_make_up_working_day_opens_a_saturday(schedule):
    saturday = MONDAY + timedelta(days=5)
    SigningHoliday.objects.create(date=saturday, name="调休", kind=HolidayKind.WORKDAY)
    slots = signing_free_slots(schedule=schedule, date_from=saturday, date_to=saturday + timedelta(days=1), now=NOW)
    assert len(slots) == 13
    assert {s.start.date() for s in slots} == {saturday}


def test_a_schedules_own_row_overrides_the_general_holiday(schedule):
    other = make_schedule(work_group=make_signing_group(branch=make_branch("bj"), code="signing-bj"))
    SigningHoliday.objects.create(date=MONDAY, name="General holiday")
    SigningHoliday.objects.create(date=MONDAY, name="We work anyway", kind=HolidayKind.WORKDAY, schedule=schedule)
    assert len(signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY, now=NOW)) == 13
    assert signing_free_slots(schedule=other, date_from=MONDAY, date_to=MONDAY, now=NOW) == []


def test_capacity_left_is_shown_and_full_slots_are_hidden(schedule):
    SigningSlot.objects.create(schedule=schedule, start=at(MONDAY, 9), end=at(MONDAY, 9, 30), booked=1)
    SigningSlot.objects.create(schedule=schedule, start=at(MONDAY, 9, 30), end=at(MONDAY, 10), booked=2)
    slots = signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY, now=NOW)
    assert [(f"{s.start:%H:%M}", s.remaining) for s in slots[:3]] == [("09:00", 1), ("10:00", 2), ("10:30", 2)]
    with_full = signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY, now=NOW, include_full=True)
    assert [(f"{s.start:%H:%M}", s.booked, s.remaining) for s in with_full[:2]] == [("09:00", 1, 1),
                                                                                    ("09:30", 2, 0)]


def test_a_range_ending_before_it_starts_names_date_to(schedule):
    with pytest.raises(ValidationError) as error:
        signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY - timedelta(days=1), now=NOW)
    assert list(error.value.message_dict) == ["date_to"]
    with pytest.raises(ValidationError) as error:
        signing_free_slots(schedule=schedule, date_from=MONDAY, date_to=MONDAY + timedelta(days=62), now=NOW)
    assert list(error.value.message_dict) == ["date_to"]


def test_an_applications_schedule_is_the_nearest_up_its_branch_tree(db):
    hq = make_branch("hq")
    shanghai = make_branch("shanghai", parent=hq)
    pudong = make_branch("pudong", parent=shanghai)
    head_office = make_schedule(work_group=make_signing_group(branch=hq, code="signing-hq"))
    local = make_schedule(work_group=make_signing_group(branch=shanghai, code="signing-sh"))
    assert signing_schedule_resolve(application=make_application(branch=pudong)) == local
    assert signing_schedule_resolve(application=make_application(branch=hq)) == head_office
    beijing = make_branch("beijing")
    with pytest.raises(ValidationError) as error:
        signing_schedule_resolve(application=make_application(branch=beijing))
    assert list(error.value.message_dict) == ["schedule"]
