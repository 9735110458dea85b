"""Remote signing (远程面签): schedules, holidays, slots and appointments.

A work group's ``SigningSchedule`` (远程面签时间配置) says on which weekdays, in which time
windows, how long a slot is and how many appointments a slot holds (officers or rooms).
``SigningHoliday`` closes a date, or opens one as a make-up working day (调休). A
``SigningSlot`` row exists per (schedule, start) once somebody booked it; its ``booked`` counter
is what makes overbooking impossible (see ``workflows.services.signing``). A
``SigningAppointment`` is one line of the booking journal (预约流水); every status change is a
``StateTransition`` and every field change a history row.
"""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from creditfactory.core.models import TimeStampedModel
from creditfactory.core.state import StateMachine
from creditfactory.organisations.models import WorkGroup

__all__ = [
    "ACTIVE_APPOINTMENT_STATUSES",
    "APPOINTMENT_MACHINE",
    "AppointmentStatus",
    "HolidayKind",
    "SigningAppointment",
    "SigningChannel",
    "SigningHoliday",
    "SigningResult",
    "SigningSchedule",
    "SigningSlot",
    "SigningWindow",
    "WEEKDAY_CHOICES",
]

# Python's date.weekday(): Monday is 0.
WEEKDAY_CHOICES = [
    (0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
    (5, _("Saturday")), (6, _("Sunday")),
]


def validate_weekdays(value) -> None:
    if not isinstance(value, list) or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6
                                          for d in value):
        raise ValidationError(_("Weekdays are numbers from 0 (Monday) to 6 (Sunday)."), code="invalid_weekdays")
    if len(set(value)) != len(value):
        raise ValidationError(_("A weekday is listed twice."), code="invalid_weekdays")


def validate_timezone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value},
                              code="invalid_timezone") from None


class SigningSchedule(TimeStampedModel):
    work_group = models.ForeignKey(
        WorkGroup, verbose_name=_("work group"), on_delete=models.PROTECT, related_name="signing_schedules"
    )
    name = models.CharField(_("name"), max_length=120)
    weekdays = models.JSONField(
        _("weekdays"), default=list, validators=[validate_weekdays],
        help_text=_("Working weekdays, 0 = Monday … 6 = Sunday."),
    )
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"), default=30, validators=[MinValueValidator(5), MaxValueValidator(480)]
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity per slot"), default=1, validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text=_("How many signings run at once: officers or rooms available."),
    )
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai",
                                validators=[validate_timezone])
    min_notice_minutes = models.PositiveIntegerField(
        _("minimum notice (minutes)"), default=0, help_text=_("How long before its start a slot can still be booked.")
    )
    horizon_days = models.PositiveSmallIntegerField(
        _("booking horizon (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(366)],
        help_text=_("How many days ahead slots can be booked."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("signing schedule")
        verbose_name_plural = _("signing schedules")
        ordering = ["work_group__code", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["work_group"], condition=Q(is_active=True), name="workflows_one_active_signing_schedule"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SigningWindow(models.Model):
    """A time window of the working day, e.g. 09:00–12:00; slots start at ``start`` every
    ``slot_minutes`` and must end by ``end``."""

    schedule = models.ForeignKey(
        SigningSchedule, verbose_name=_("schedule"), on_delete=models.CASCADE, related_name="windows"
    )
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("time window")
        verbose_name_plural = _("time windows")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(condition=Q(start__lt=models.F("end")), name="workflows_signing_window_order"),
        ]

    def __str__(self):
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self):
        if self.start and self.end and self.start >= self.end:
            raise ValidationError({"end": _("The window must end after it starts.")})


class HolidayKind(models.TextChoices):
    CLOSED = "closed", _("Holiday: no signing")
    WORKDAY = "workday", _("Make-up working day (调休)")


class SigningHoliday(models.Model):
    """A public holiday (closed) or a make-up working day (调休: a weekend day worked to bridge a
    holiday, announced yearly by the State Council). Without a schedule it applies to all; a
    schedule's own row for a date overrides the general one."""

    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=HolidayKind.choices, default=HolidayKind.CLOSED)
    schedule = models.ForeignKey(
        SigningSchedule, verbose_name=_("schedule"), null=True, blank=True, on_delete=models.CASCADE,
        related_name="holidays", help_text=_("Empty: applies to every schedule."),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("signing holiday")
        verbose_name_plural = _("signing holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["date"], condition=Q(schedule__isnull=True),
                                    name="workflows_signing_holiday_general"),
            models.UniqueConstraint(fields=["date", "schedule"], condition=Q(schedule__isnull=False),
                                    name="workflows_signing_holiday_schedule"),
        ]

    def __str__(self):
        return f"{self.date:%Y-%m-%d} {self.name}"


class SigningSlot(models.Model):
    """The booking counter of one slot. Created on first booking; ``booked`` only moves through
    conditional updates under a row lock, never read-modify-write."""

    schedule = models.ForeignKey(SigningSchedule, verbose_name=_("schedule"), on_delete=models.PROTECT,
                                 related_name="slots")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    booked = models.PositiveIntegerField(_("booked"), default=0)

    class Meta:
        verbose_name = _("signing slot")
        verbose_name_plural = _("signing slots")
        ordering = ["start"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "start"], name="workflows_signing_slot_unique"),
            models.CheckConstraint(condition=Q(booked__gte=0), name="workflows_signing_slot_booked_gte_0"),
        ]

    def __str__(self):
        return f"{self.schedule} {timezone.localtime(self.start):%Y-%m-%d %H:%M} ({self.booked})"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    RESCHEDULED = "rescheduled", _("Rescheduled")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")


ACTIVE_APPOINTMENT_STATUSES = (AppointmentStatus.BOOKED, AppointmentStatus.RESCHEDULED)
_FROM_ACTIVE = frozenset({AppointmentStatus.RESCHEDULED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW,
                          AppointmentStatus.CANCELLED})
APPOINTMENT_MACHINE = StateMachine({
    AppointmentStatus.BOOKED: _FROM_ACTIVE,
    AppointmentStatus.RESCHEDULED: _FROM_ACTIVE,
})


class SigningChannel(models.TextChoices):
    API = "api", _("Partner API")
    BACK_OFFICE = "back_office", _("Back office")


class SigningResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")
    INCOMPLETE = "incomplete", _("Incomplete")


class SigningAppointment(TimeStampedModel):
    """One booking in the journal (预约流水). Active while booked or rescheduled; an application
    has at most one active appointment."""

    application = models.ForeignKey(
        "workflows.CreditApplication", verbose_name=_("application"), on_delete=models.PROTECT,
        related_name="signing_appointments",
    )
    schedule = models.ForeignKey(SigningSchedule, verbose_name=_("schedule"), on_delete=models.PROTECT,
                                 related_name="appointments")
    slot = models.ForeignKey(SigningSlot, verbose_name=_("slot"), on_delete=models.PROTECT,
                             related_name="appointments")
    slot_start = models.DateTimeField(_("slot start"), db_index=True)
    slot_end = models.DateTimeField(_("slot end"))
    status = models.CharField(_("status"), max_length=16, choices=AppointmentStatus.choices,
                              default=AppointmentStatus.BOOKED, db_index=True)
    channel = models.CharField(_("channel"), max_length=16, choices=SigningChannel.choices,
                               default=SigningChannel.BACK_OFFICE)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("booked by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    booked_by_label = models.CharField(_("booked by (system or partner)"), max_length=150, blank=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("officer"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("Who performed the signing."),
    )
    result = models.CharField(_("result"), max_length=16, choices=SigningResult.choices, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    recording_ref = models.CharField(
        _("recording reference"), max_length=255, blank=True,
        help_text=_("ID or URI of the video recording in the recording system (双录)."),
    )
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    reschedule_count = models.PositiveSmallIntegerField(_("times rescheduled"), default=0)
    reminder_sent_at = models.DateTimeField(_("reminder sent at"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("signing appointment")
        verbose_name_plural = _("signing appointments")
        ordering = ["slot_start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(status__in=["booked", "rescheduled"]),
                name="workflows_one_active_signing_per_application",
            ),
        ]
        indexes = [models.Index(fields=["status", "slot_start"])]

    def __str__(self):
        return f"{self.application} @ {timezone.localtime(self.slot_start):%Y-%m-%d %H:%M}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_APPOINTMENT_STATUSES
