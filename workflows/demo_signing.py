"""Demo remote-signing schedule: the ``signing`` work group signs Monday to Friday, 09:00–12:00
and 14:00–17:30 in 30-minute slots, two at a time, closed on the coming public holidays.

The holidays are the statutory days of the 全国年节及纪念日放假办法 (as amended in 2024) for 2027.
The State Council's yearly notice adds bridging days off and make-up working days (调休); an admin
enters those as signing holidays of kind "make-up working day" once it is published.
"""

from datetime import date, time

from django.utils import timezone

from creditfactory.organisations.models import WorkGroup

from .models import HolidayKind, SigningHoliday, SigningSchedule, SigningWindow

SCHEDULE_NAME = "面签时间 Remote signing hours"
WINDOWS = [(time(9, 0), time(12, 0)), (time(14, 0), time(17, 30))]

# date → name (statutory public holidays; lunar dates converted to the Gregorian calendar).
PUBLIC_HOLIDAYS = {
    date(2027, 1, 1): "元旦 New Year's Day",
    date(2027, 2, 5): "春节 Spring Festival (除夕 New Year's Eve)",
    date(2027, 2, 6): "春节 Spring Festival",
    date(2027, 2, 7): "春节 Spring Festival",
    date(2027, 2, 8): "春节 Spring Festival",
    date(2027, 4, 5): "清明节 Qingming Festival",
    date(2027, 5, 1): "劳动节 Labour Day",
    date(2027, 5, 2): "劳动节 Labour Day",
    date(2027, 6, 9): "端午节 Dragon Boat Festival",
    date(2027, 9, 15): "中秋节 Mid-Autumn Festival",
    date(2027, 10, 1): "国庆节 National Day",
    date(2027, 10, 2): "国庆节 National Day",
    date(2027, 10, 3): "国庆节 National Day",
}


def seed_signing(*, log=print, today: date | None = None) -> SigningSchedule | None:
    work_group = WorkGroup.objects.filter(code="signing").first()
    if work_group is None:
        log("  signing schedule skipped: no work group 'signing'")
        return None
    schedule = SigningSchedule.objects.filter(work_group=work_group, is_active=True).first()
    if schedule is None:
        schedule = SigningSchedule.objects.create(
            work_group=work_group, name=SCHEDULE_NAME, weekdays=[0, 1, 2, 3, 4], slot_minutes=30, capacity=2,
            timezone="Asia/Shanghai",
        )
        SigningWindow.objects.bulk_create([SigningWindow(schedule=schedule, start=s, end=e) for s, e in WINDOWS])
        log("  signing schedule created for work group signing")
    today = today or timezone.localdate()
    created = 0
    for day, name in PUBLIC_HOLIDAYS.items():
        if day < today:
            continue
        _holiday, was_created = SigningHoliday.objects.get_or_create(
            date=day, schedule=None, defaults={"name": name, "kind": HolidayKind.CLOSED})
        created += was_created
    if created:
        log(f"  {created} signing holidays created")
    return schedule


def seed(*, context: dict, log) -> dict:
    return {"signing_schedule": seed_signing(log=log)}
