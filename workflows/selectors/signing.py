"""Reads of remote signing: which schedule applies, the free slots, an officer's appointments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import get_objects_for_user

from creditfactory.core.state import transitions_for
from creditfactory.organisations.models import WorkGroup
from creditfactory.organisations.scoping import scope_queryset

from ..models import HolidayKind, SigningAppointment, SigningHoliday, SigningSchedule, SigningSlot
from ..signing_calendar import SlotRule, slots_between

__all__ = [
    "FreeSlot",
    "MAX_RANGE_DAYS",
    "signing_appointment_history",
    "signing_appointments_for",
    "signing_free_slots",
    "signing_rule",
    "signing_schedule_resolve",
    "signing_schedules_for",
]

MAX_RANGE_DAYS = 62
WORK_ON_QUEUE = "organisations.work_on_queue"


@dataclass(frozen=True)
class FreeSlot:
    start: datetime
    end: datetime
    capacity: int
    booked: int

    @property
    def remaining(self) -> int:
        return max(self.capacity - self.booked, 0)


def signing_schedule_resolve(*, schedule: SigningSchedule | None = None, work_group: WorkGroup | None = None,
                             application=None) -> SigningSchedule:
    """The active schedule to book on: the one given, the work group's, or for an application the
    schedule of the nearest work group up its branch tree (own branch first, then parents)."""
    if schedule is not None:
        if not schedule.is_active:
            raise ValidationError({"schedule": ValidationError(_("This signing schedule is not active."),
                                                               code="inactive")})
        return schedule
    if work_group is not None:
        found = SigningSchedule.objects.filter(work_group=work_group, is_active=True).first()
        if found is None:
            raise ValidationError({"work_group": ValidationError(
                _("Work group %(group)s has no active signing schedule.") % {"group": work_group},
                code="no_schedule")})
        return found
    if application is not None:
        branch = application.branch
        paths = [branch.path[:i] for i in range(branch.steplen, len(branch.path) + 1, branch.steplen)]
        found = (SigningSchedule.objects.filter(is_active=True, work_group__is_active=True,
                                                work_group__branch__path__in=paths)
                 .select_related("work_group__branch")
                 .order_by("-work_group__branch__depth", "work_group__code").first())
        if found is not None:
            return found
    raise ValidationError({"schedule": ValidationError(_("No active signing schedule applies."),
                                                       code="no_schedule")})


def signing_rule(schedule: SigningSchedule, *, date_from: date, date_to: date) -> SlotRule:
    """The slot rule of ``schedule`` with the holidays between the two dates (a schedule's own
    holiday row overrides the general one of the same date)."""
    closed: dict[date, str] = {}
    workdays: dict[date, str] = {}
    holidays = (SigningHoliday.objects.filter(date__range=(date_from, date_to))
                .filter(Q(schedule__isnull=True) | Q(schedule=schedule))
                .order_by("date"))
    chosen: dict[date, SigningHoliday] = {}
    for holiday in holidays:
        if holiday.date not in chosen or holiday.schedule_id is not None:
            chosen[holiday.date] = holiday
    for day, holiday in chosen.items():
        (workdays if holiday.kind == HolidayKind.WORKDAY else closed)[day] = holiday.name
    windows = tuple((w.start, w.end) for w in schedule.windows.all())
    return SlotRule(weekdays=frozenset(schedule.weekdays or ()), windows=windows, slot_minutes=schedule.slot_minutes,
                    tz=schedule.tz, closed=closed, workdays=workdays)


def signing_free_slots(*, schedule: SigningSchedule | None = None, work_group: WorkGroup | None = None,
                       application=None, date_from: date | None = None, date_to: date | None = None,
                       now: datetime | None = None, include_full: bool = False) -> list[FreeSlot]:
    """Bookable slots between two dates inclusive (default: the coming 7 days), in order: in the
    future (respecting the schedule's notice), within its horizon, on working days, with
    capacity left (``include_full`` also lists full ones, for the back office calendar)."""
    schedule = signing_schedule_resolve(schedule=schedule, work_group=work_group, application=application)
    now = now or timezone.now()
    today = now.astimezone(schedule.tz).date()
    date_from = date_from or today
    date_to = date_to or date_from + timedelta(days=6)
    if date_to < date_from:
        raise ValidationError({"date_to": ValidationError(_("The end date is before the start date."),
                                                          code="invalid_range")})
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ValidationError({"date_to": ValidationError(
            _("Ask for at most %(days)s days at a time.") % {"days": MAX_RANGE_DAYS}, code="range_too_long")})
    date_from = max(date_from, today)
    date_to = min(date_to, today + timedelta(days=schedule.horizon_days))
    if date_to < date_from:
        return []

    earliest = now + timedelta(minutes=schedule.min_notice_minutes)
    rule = signing_rule(schedule, date_from=date_from, date_to=date_to)
    candidates = [slot for slot in slots_between(rule, date_from, date_to) if slot.start >= earliest]
    if not candidates:
        return []
    booked = dict(SigningSlot.objects.filter(schedule=schedule, start__gte=candidates[0].start,
                                             start__lte=candidates[-1].start).values_list("start", "booked"))
    result = []
    for slot in candidates:
        free = FreeSlot(start=slot.start, end=slot.end, capacity=schedule.capacity, booked=booked.get(slot.start, 0))
        if include_full or free.remaining > 0:
            result.append(free)
    return result


def signing_schedules_for(user) -> QuerySet:
    """Active schedules of the work groups ``user`` works for (queue permission), in branches they
    may see."""
    schedules = SigningSchedule.objects.filter(is_active=True).select_related("work_group__branch")
    schedules = scope_queryset(schedules, user, branch_field="work_group__branch")
    if user.is_superuser:
        return schedules
    groups = get_objects_for_user(user, WORK_ON_QUEUE, klass=WorkGroup, accept_global_perms=False)
    return schedules.filter(work_group__in=groups)


def signing_appointments_for(user, *, date_from: date | None = None, date_to: date | None = None,
                             statuses=None) -> QuerySet:
    """Appointments of the schedules ``user`` works for, limited to applications of branches they
    may see, in slot order."""
    schedules = SigningSchedule.objects.all()
    if not user.is_superuser:
        groups = get_objects_for_user(user, WORK_ON_QUEUE, klass=WorkGroup, accept_global_perms=False)
        schedules = schedules.filter(work_group__in=groups)
    queryset = SigningAppointment.objects.filter(schedule__in=schedules)
    queryset = scope_queryset(queryset, user, branch_field="application__branch")
    if date_from is not None:
        queryset = queryset.filter(slot_start__date__gte=date_from)
    if date_to is not None:
        queryset = queryset.filter(slot_start__date__lte=date_to)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    return queryset.select_related("application", "schedule__work_group", "officer", "booked_by").order_by(
        "slot_start", "id")


def signing_appointment_history(appointment: SigningAppointment) -> QuerySet:
    return transitions_for(appointment).order_by("at", "id")
