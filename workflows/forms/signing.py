"""Back-office forms of remote signing. They parse input only; the services decide, and their
``ValidationError``s are put back on the fields they name (``apply_service_errors``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from creditfactory.core import forms as core_forms
from creditfactory.organisations.scoping import scope_queryset

from ..models import CreditApplication, SigningResult
from ..selectors.signing import signing_free_slots, signing_schedules_for

__all__ = ["BookForm", "CancelForm", "CompleteForm", "NoShowForm", "RescheduleForm", "apply_service_errors",
           "slot_choices"]

# How far ahead the back office lists slots to pick from.
PICKER_DAYS = 14


def slot_choices(schedule, *, exclude=None, now=None) -> list[tuple[str, str]]:
    if schedule is None:
        return []
    today = (now or timezone.now()).astimezone(schedule.tz).date()
    choices = []
    for slot in signing_free_slots(schedule=schedule, date_from=today, date_to=today + timedelta(days=PICKER_DAYS),
                                   now=now):
        if exclude is not None and slot.start == exclude:
            continue
        start, end = slot.start.astimezone(schedule.tz), slot.end.astimezone(schedule.tz)
        label = _("%(day)s %(weekday)s %(start)s–%(end)s · %(free)s free") % {
            "day": f"{start:%Y-%m-%d}", "weekday": formats.date_format(start, "D"), "start": f"{start:%H:%M}",
            "end": f"{end:%H:%M}", "free": slot.remaining}
        choices.append((start.isoformat(), label))
    return choices


def _parse_slot(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ValidationError(_("Choose a slot from the list."), code="invalid") from None
    if timezone.is_naive(moment):
        raise ValidationError(_("Choose a slot from the list."), code="invalid")
    return moment


def apply_service_errors(form: forms.Form, exc: ValidationError, *, aliases: dict | None = None) -> None:
    """Attach a service's ``{field: [errors]}`` to the form; unknown fields become form-wide."""
    aliases = aliases or {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        name = aliases.get(field, field)
        form.add_error(name if name in form.fields else None, errors)


class SlotChoiceField(forms.ChoiceField):
    """A select of free slots whose value is parsed to an aware datetime. A slot that filled up
    since the page was drawn reaches the service, which says so (rather than "invalid choice")."""

    def clean(self, value):
        value = self.to_python(value)
        self.validate(value)
        self.run_validators(value)
        return _parse_slot(value)

    def valid_value(self, value):
        return True


class BookForm(forms.Form):
    application = forms.CharField(label=_("Application number"), max_length=32)
    schedule = forms.ModelChoiceField(label=_("Signing schedule"), queryset=None, empty_label=None)
    slot_start = SlotChoiceField(label=_("Slot"))

    def __init__(self, *args, user, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["schedule"].queryset = signing_schedules_for(user)
        self.fields["slot_start"].choices = slot_choices(self.selected_schedule(), now=now)

    def selected_schedule(self):
        queryset = self.fields["schedule"].queryset
        key = self.data.get("schedule") if self.is_bound else self.initial.get("schedule")
        if key:
            try:
                return queryset.filter(pk=int(getattr(key, "pk", key))).first()
            except (TypeError, ValueError):
                return None
        return queryset.first()

    def clean_application(self):
        number = self.cleaned_data["application"].strip()
        application = scope_queryset(CreditApplication.objects.select_related("branch"), self.user).filter(
            number=number).first()
        if application is None:
            raise ValidationError(_("No application %(number)s in your branches.") % {"number": number},
                                  code="not_found")
        return application


class RescheduleForm(forms.Form):
    slot_start = SlotChoiceField(label=_("New slot"))
    reason = core_forms.NameField(label=_("Reason"), max_length=500, required=False)

    def __init__(self, *args, appointment, now=None, **kwargs):
        super().__init__(*args, prefix="reschedule", **kwargs)
        self.fields["slot_start"].choices = slot_choices(appointment.schedule, exclude=appointment.slot_start,
                                                         now=now)


class CancelForm(forms.Form):
    reason = core_forms.NameField(label=_("Reason"), max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="cancel", **kwargs)


class CompleteForm(forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=SigningResult.choices)
    recording_ref = core_forms.NameField(label=_("Recording reference"), max_length=255, required=False)
    notes = core_forms.TextField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="complete", **kwargs)


class NoShowForm(forms.Form):
    reason = core_forms.NameField(label=_("Remark"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, prefix="no_show", **kwargs)
