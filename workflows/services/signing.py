"""Writes of remote signing (远程面签): book, reschedule, cancel, complete, no-show, reminders.

Capacity is guaranteed by the database, not by a check in Python: a ``SigningSlot`` row per
(schedule, start) is inserted with ``ON CONFLICT DO NOTHING``, locked with ``SELECT … FOR
UPDATE`` and its counter moved by a conditional ``UPDATE … SET booked = booked + 1 WHERE booked
< capacity``. Parallel bookings of one slot queue on the row lock, and each sees the count the
previous one committed. A reschedule locks the old and the new slot in id order so two opposite
moves cannot deadlock. One active appointment per application is a partial unique index.

Every function takes an explicit actor: a user (back office) or ``actor_label`` for a partner
or the system. Errors are ``ValidationError`` naming the field. Each change is announced to the
application's partner in the same transaction (``signing.booked`` / ``rescheduled`` /
``cancelled`` / ``completed`` / ``no_show`` webhooks).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.messaging.services import sms_send
from creditfactory.core.permissions import require_permission
from creditfactory.core.state import IllegalTransition, change_state, record_transition
from creditfactory.core.texts import stored_text
from creditfactory.organisations.models import WorkGroup

from ..models import (
    ACTIVE_APPOINTMENT_STATUSES,
    APPOINTMENT_MACHINE,
    AppointmentStatus,
    ApplicationStatus,
    CreditApplication,
    SigningAppointment,
    SigningChannel,
    SigningResult,
    SigningSchedule,
    SigningSlot,
)
from ..locks import (
    application_signing_lock,
    appointment_lock,
    reminder_claim,
    signing_slot_lock,
    signing_slot_release,
    signing_slot_take,
    signing_slots_lock,
)
from ..selectors.signing import signing_rule, signing_schedule_resolve
from ..signing_calendar import day_status, slots_on
from .flow_steps import emit
from .waits import application_signing_passed

__all__ = [
    "SigningError",
    "SlotFull",
    "signing_book",
    "signing_cancel",
    "signing_complete",
    "signing_mark_no_show",
    "signing_reschedule",
    "signing_send_reminders",
]

logger = logging.getLogger(__name__)

# Applications past these can no longer be signed.
CLOSED_APPLICATION_STATUSES = (ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN, ApplicationStatus.APPROVED)
WORK_ON_QUEUE = "organisations.work_on_queue"
REMINDER_TEMPLATE = "signing_reminder"


class SigningError(ValidationError):
    """A refused signing operation; ``message_dict`` names the field."""


class SlotFull(SigningError):
    """Every place of the slot is taken (an API maps it to 409)."""


def _error(field: str, message: str, code: str, cls=SigningError):
    return cls({field: [ValidationError(message, code=code)]})


def _local(moment: datetime, schedule: SigningSchedule) -> str:
    return moment.astimezone(schedule.tz).strftime("%Y-%m-%d %H:%M")


def _check_slot(schedule: SigningSchedule, slot_start, now: datetime) -> tuple[datetime, datetime]:
    """The (start, end) of the schedule's slot starting at ``slot_start``, or why it is not one."""
    if not isinstance(slot_start, datetime):
        raise _error("slot_start", _("Give the slot start as a date and time."), "invalid")
    if timezone.is_naive(slot_start):
        raise _error("slot_start", _("Give the slot start with its time zone."), "naive")
    local = slot_start.astimezone(schedule.tz)
    day = local.date()
    if slot_start < now + timedelta(minutes=schedule.min_notice_minutes):
        if slot_start < now:
            raise _error("slot_start", _("This slot is in the past."), "past")
        raise _error("slot_start", _("Slots must be booked at least %(minutes)s minutes ahead.")
                     % {"minutes": schedule.min_notice_minutes}, "too_soon")
    if day > now.astimezone(schedule.tz).date() + timedelta(days=schedule.horizon_days):
        raise _error("slot_start", _("Slots can be booked at most %(days)s days ahead.")
                     % {"days": schedule.horizon_days}, "too_far")
    rule = signing_rule(schedule, date_from=day, date_to=day)
    status = day_status(rule, day)
    if status == "holiday":
        raise _error("slot_start", _("%(day)s is a holiday (%(name)s): no signing.")
                     % {"day": day.isoformat(), "name": rule.closed[day]}, "holiday")
    if status == "closed":
        raise _error("slot_start", _("There is no signing on %(day)s.") % {"day": day.isoformat()}, "closed_day")
    for slot in slots_on(rule, day):
        if slot.start == slot_start:
            return slot.start, slot.end
    starts = ", ".join(f"{s.start:%H:%M}" for s in slots_on(rule, day)[:8])
    raise _error("slot_start", _("%(time)s is not the start of a slot; slots start at %(starts)s …")
                 % {"time": f"{local:%H:%M}", "starts": starts}, "not_a_slot")


def _take_slot(schedule: SigningSchedule, start: datetime, end: datetime) -> SigningSlot:
    """Create the slot row if needed and count one more booking, or raise ``SlotFull``."""
    SigningSlot.objects.bulk_create([SigningSlot(schedule=schedule, start=start, end=end)], ignore_conflicts=True)
    slot = signing_slot_lock(schedule=schedule, start=start)
    return _increment(slot, schedule)


def _increment(slot: SigningSlot, schedule: SigningSchedule) -> SigningSlot:
    if not signing_slot_take(slot.pk, capacity=schedule.capacity):
        raise _error("slot_start", _("The slot at %(time)s is full; choose another.")
                     % {"time": _local(slot.start, schedule)}, "slot_full", cls=SlotFull)
    slot.booked += 1
    return slot


def _actor_fields(actor, actor_label: str) -> dict:
    user = actor if getattr(actor, "pk", None) else None
    return {"actor": user, "actor_label": actor_label if user is None else ""}


def _move(appointment: SigningAppointment, to_state: str, *, actor, actor_label: str, reason: str,
          extra_update_fields=()) -> None:
    try:
        change_state(appointment, to_state=to_state, machine=APPOINTMENT_MACHINE, reason=reason,
                     extra_update_fields=extra_update_fields, **_actor_fields(actor, actor_label))
    except IllegalTransition as exc:
        raise _error("status", str(exc), "illegal_transition") from None


def _emit(appointment: SigningAppointment, event: str, application: CreditApplication | None = None) -> None:
    """Tell the application's partner (webhook outbox, in the caller's transaction)."""
    emit(application or appointment.application, event=event, appointment={
        "id": appointment.pk, "status": appointment.status, "slot_start": appointment.slot_start.isoformat(),
        "slot_end": appointment.slot_end.isoformat(), "result": appointment.result,
    })


def _require_active(appointment: SigningAppointment) -> None:
    if not appointment.is_active:
        raise _error("status", _("The appointment is %(status)s and can no longer change.")
                     % {"status": appointment.get_status_display().lower()}, "illegal_transition")


@transaction.atomic
def signing_book(*, application: CreditApplication, slot_start: datetime, actor=None, actor_label: str = "",
                 channel: str = SigningChannel.BACK_OFFICE, schedule: SigningSchedule | None = None,
                 work_group: WorkGroup | None = None, now: datetime | None = None) -> SigningAppointment:
    """Book the slot starting at ``slot_start`` for ``application`` on ``schedule`` (or the work
    group's, or the application's nearest). ``actor`` is the booking user; partners pass
    ``actor=None, actor_label="partner:<code>"``."""
    now = now or timezone.now()
    if channel not in SigningChannel.values:
        raise _error("channel", _("Unknown channel."), "invalid")
    # One booking at a time per application: the active-appointment check below stays true.
    application = application_signing_lock(application.pk)
    if application.status in CLOSED_APPLICATION_STATUSES:
        raise _error("application", _("Application %(number)s is %(status)s: nothing to sign.")
                     % {"number": application.number, "status": application.get_status_display().lower()},
                     "closed")
    if SigningAppointment.objects.filter(application=application, status__in=ACTIVE_APPOINTMENT_STATUSES).exists():
        raise _error("application", _("Application %(number)s already has an appointment; reschedule it instead.")
                     % {"number": application.number}, "already_booked")
    schedule = signing_schedule_resolve(schedule=schedule, work_group=work_group, application=application)
    _check_arranger(schedule, actor)
    start, end = _check_slot(schedule, slot_start, now)
    slot = _take_slot(schedule, start, end)
    user = actor if getattr(actor, "pk", None) else None
    try:
        with transaction.atomic():
            appointment = SigningAppointment.objects.create(
                application=application, schedule=schedule, slot=slot, slot_start=start, slot_end=end,
                status=AppointmentStatus.BOOKED, channel=channel, booked_by=user,
                booked_by_label="" if user else actor_label,
            )
    except IntegrityError:
        raise _error("application", _("Application %(number)s already has an appointment; reschedule it instead.")
                     % {"number": application.number}, "already_booked") from None
    record_transition(appointment, from_state="", to_state=AppointmentStatus.BOOKED,
                      reason=stored_text(gettext_noop("Booked for %(time)s via %(channel)s."),
                                         time=_local(start, schedule), channel=SigningChannel(channel).label),
                      **_actor_fields(actor, actor_label))
    _emit(appointment, "signing.booked", application)
    return appointment


@transaction.atomic
def signing_reschedule(*, appointment: SigningAppointment, slot_start: datetime, actor=None, actor_label: str = "",
                       reason: str = "", now: datetime | None = None) -> SigningAppointment:
    """Move an active appointment to another slot of its schedule: the new place is taken and the
    old one released in one transaction. The reminder is sent again for the new time."""
    now = now or timezone.now()
    appointment = appointment_lock(appointment.pk)
    _require_active(appointment)
    schedule = appointment.schedule
    _check_arranger(schedule, actor)
    start, end = _check_slot(schedule, slot_start, now)
    if start == appointment.slot_start:
        raise _error("slot_start", _("The appointment is already at this time."), "same_slot")
    SigningSlot.objects.bulk_create([SigningSlot(schedule=schedule, start=start, end=end)], ignore_conflicts=True)
    # Lock both counters in id order: two appointments swapping slots cannot deadlock.
    slots = {s.start: s for s in signing_slots_lock(schedule=schedule, starts=[start, appointment.slot_start])}
    new_slot = _increment(slots[start], schedule)
    signing_slot_release(appointment.slot_id)
    old_start = appointment.slot_start
    appointment.slot, appointment.slot_start, appointment.slot_end = new_slot, start, end
    appointment.reschedule_count += 1
    appointment.reminder_sent_at = None
    moved = {"old": _local(old_start, schedule), "new": _local(start, schedule)}
    text = (stored_text(gettext_noop("Moved from %(old)s to %(new)s. %(reason)s"), reason=reason.strip(), **moved)
            if reason.strip() else stored_text(gettext_noop("Moved from %(old)s to %(new)s."), **moved))
    _move(appointment, AppointmentStatus.RESCHEDULED, actor=actor, actor_label=actor_label,
          reason=text,
          extra_update_fields=("slot", "slot_start", "slot_end", "reschedule_count", "reminder_sent_at"))
    _emit(appointment, "signing.rescheduled")
    return appointment


@transaction.atomic
def signing_cancel(*, appointment: SigningAppointment, reason: str, actor=None,
                   actor_label: str = "") -> SigningAppointment:
    """Cancel an active appointment and give its place back."""
    if not (reason or "").strip():
        raise _error("reason", _("Give the reason for cancelling."), "required")
    appointment = appointment_lock(appointment.pk)
    _check_arranger(appointment.schedule, actor)
    _require_active(appointment)
    _move(appointment, AppointmentStatus.CANCELLED, actor=actor, actor_label=actor_label, reason=reason.strip())
    signing_slot_release(appointment.slot_id)
    _emit(appointment, "signing.cancelled")
    return appointment


# Who arranges appointments from the back office: the signing work group's members and the
# customer managers who enter applications.
ARRANGE_PERMISSION = "workflows.add_creditapplication"


def _check_arranger(schedule: SigningSchedule, actor) -> None:
    """A staff actor books, moves or cancels an appointment only as a member of the schedule's
    work group or as a customer manager (``core.permissions``); partners pass ``actor=None``."""
    require_permission(actor, WORK_ON_QUEUE, ARRANGE_PERMISSION, obj=schedule.work_group,
                       message=_("Your role may not arrange signing appointments."))


def _check_officer(appointment: SigningAppointment, officer) -> None:
    if not getattr(officer, "pk", None) or not officer.has_perm(WORK_ON_QUEUE, appointment.schedule.work_group):
        raise _error("officer", _("Only a member of %(group)s can perform this signing.")
                     % {"group": appointment.schedule.work_group}, "not_in_work_group")


@transaction.atomic
def signing_complete(*, appointment: SigningAppointment, officer, result: str, notes: str = "",
                     recording_ref: str = "", now: datetime | None = None) -> SigningAppointment:
    """Record the signing's outcome. A pass needs the recording reference (the video is the
    evidence); a failed or incomplete signing needs notes saying why."""
    now = now or timezone.now()
    appointment = appointment_lock(appointment.pk)
    _require_active(appointment)
    _check_officer(appointment, officer)
    notes, recording_ref = (notes or "").strip(), (recording_ref or "").strip()
    errors = {}
    if result not in SigningResult.values:
        errors["result"] = [ValidationError(_("Choose passed, failed or incomplete."), code="invalid")]
    elif result == SigningResult.PASSED and not recording_ref:
        errors["recording_ref"] = [ValidationError(_("A passed signing needs its recording reference."),
                                                   code="required")]
    elif result != SigningResult.PASSED and not notes:
        errors["notes"] = [ValidationError(_("Say why the signing did not pass."), code="required")]
    if len(recording_ref) > 255:
        errors["recording_ref"] = [ValidationError(_("At most 255 characters."), code="max_length")]
    if errors:
        raise SigningError(errors)
    appointment.officer, appointment.result, appointment.notes = officer, result, notes
    appointment.recording_ref, appointment.completed_at = recording_ref, now
    _move(appointment, AppointmentStatus.COMPLETED, actor=officer, actor_label="",
          reason=stored_text(gettext_noop("Result: %(result)s."), result=SigningResult(result).label),
          extra_update_fields=("officer", "result", "notes", "recording_ref", "completed_at"))
    _emit(appointment, "signing.completed")
    if result == SigningResult.PASSED:
        # The credit flow waits at its signing node: move it on to contract acceptance.
        application_signing_passed(application=appointment.application, actor=officer, appointment=appointment)
    return appointment


@transaction.atomic
def signing_mark_no_show(*, appointment: SigningAppointment, actor, reason: str = "",
                         now: datetime | None = None) -> SigningAppointment:
    """The applicant did not turn up. Only once the slot has started; the place is not given back
    (the time has passed)."""
    now = now or timezone.now()
    appointment = appointment_lock(appointment.pk)
    _require_active(appointment)
    _check_officer(appointment, actor)
    if now < appointment.slot_start:
        raise _error("status", _("The appointment has not started yet."), "not_started")
    appointment.officer = actor
    _move(appointment, AppointmentStatus.NO_SHOW, actor=actor, actor_label="",
          reason=(reason or "").strip() or stored_text(gettext_noop("The applicant did not attend.")),
          extra_update_fields=("officer",))
    _emit(appointment, "signing.no_show")
    return appointment


def _applicant_mobile(application: CreditApplication) -> str:
    applicant = getattr(application, "applicant", None)
    return getattr(applicant, "mobile", "") or ""


def signing_send_reminders(*, business_date: date, now: datetime | None = None) -> dict:
    """Queue the reminder SMS of every active appointment on the day after ``business_date``.
    Each appointment is claimed by a conditional update of ``reminder_sent_at`` in its own
    transaction together with the outbox row, so re-running a date texts nobody twice."""
    now = now or timezone.now()
    target = business_date + timedelta(days=1)
    counts = {"sent": 0, "skipped": 0}
    candidates = (SigningAppointment.objects
                  .filter(status__in=ACTIVE_APPOINTMENT_STATUSES, reminder_sent_at__isnull=True,
                          slot_start__date__gte=business_date, slot_start__date__lte=target + timedelta(days=1))
                  .select_related("schedule").order_by("slot_start", "id"))
    for appointment in candidates:
        # The day is the schedule's local day, whatever the server's time zone.
        if appointment.slot_start.astimezone(appointment.schedule.tz).date() != target:
            continue
        try:
            with transaction.atomic():
                if not reminder_claim(appointment, statuses=ACTIVE_APPOINTMENT_STATUSES, now=now):
                    continue
                application = CreditApplication.objects.get(pk=appointment.application_id)
                sms_send(
                    mobile=_applicant_mobile(application), template=REMINDER_TEMPLATE,
                    context={"time": _local(appointment.slot_start, appointment.schedule)}, related=appointment,
                    dedupe_key=f"{REMINDER_TEMPLATE}:{appointment.pk}:{appointment.slot_start.isoformat()}",
                )
        except ValidationError as exc:
            # No usable mobile: nothing is recorded, so a later run (after a fix) tries again.
            counts["skipped"] += 1
            logger.warning("signing reminder for appointment %s not sent: %s", appointment.pk,
                           "; ".join(exc.messages))
            continue
        counts["sent"] += 1
    return counts
