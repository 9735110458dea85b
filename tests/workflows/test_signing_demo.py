"""The demo signing schedule: the signing work group's hours, the coming holidays, idempotent."""

from datetime import date

from tests.factories import make_branch
from tests.workflows.factories import at, make_signing_group
from workflows.demo_signing import seed_signing
from workflows.models import SigningHoliday, SigningSchedule
from workflows.selectors.signing import signing_free_slots


def test_demo_schedule_and_holidays(db):
    make_signing_group(branch=make_branch("shanghai"), code="signing")
    lines = []
    schedule = seed_signing(log=lines.append, today=date(2027, 4, 10))
    assert (schedule.weekdays, schedule.slot_minutes, schedule.capacity, schedule.timezone) == (
        [0, 1, 2, 3, 4], 30, 2, "Asia/Shanghai")
    assert [str(w) for w in schedule.windows.all()] == ["09:00–12:00", "14:00–17:30"]
    assert list(SigningHoliday.objects.values_list("date", flat=True)) == [
        date(2027, 5, 1), date(2027, 5, 2), date(2027, 6, 9), date(2027, 9, 15), date(2027, 10, 1),
        date(2027, 10, 2), date(2027, 10, 3)]
    # Wednesday 9 June 2027 is the Dragon Boat Festival: Tuesday and Thursday are open, 13 slots each.
    slots = signing_free_slots(schedule=schedule, date_from=date(2027, 6, 8), date_to=date(2027, 6, 10),
                               now=at(date(2027, 6, 1), 12))
    assert len(slots) == 26
    assert {s.start.date() for s in slots} == {date(2027, 6, 8), date(2027, 6, 10)}

    again = seed_signing(log=lines.append, today=date(2027, 4, 10))
    assert again == schedule
    assert SigningSchedule.objects.count() == 1
    assert SigningHoliday.objects.count() == 7
    assert lines == ["  signing schedule created for work group signing", "  7 signing holidays created"]
