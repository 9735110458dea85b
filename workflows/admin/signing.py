"""Admin of remote signing: schedules with their time windows, holidays and make-up days, the
appointment journal (read-only, with every state change) and the slot counters (read-only)."""

from datetime import date, datetime

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.core.display import transition_display
from creditfactory.core.state import transitions_for
from creditfactory.organisations.scoping import BranchScopedAdminMixin

from ..models import WEEKDAY_CHOICES, SigningAppointment, SigningHoliday, SigningSchedule, SigningSlot, SigningWindow

_WEEKDAY_LABELS = dict(WEEKDAY_CHOICES)


class SigningScheduleForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("weekdays"), choices=WEEKDAY_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple,
        help_text=_("Make-up working days (调休) and holidays are entered as signing holidays."),
    )

    class Meta:
        model = SigningSchedule
        fields = ["work_group", "name", "weekdays", "slot_minutes", "capacity", "timezone", "min_notice_minutes",
                  "horizon_days", "is_active"]

    def clean_weekdays(self):
        return sorted(set(self.cleaned_data["weekdays"]))


class SigningWindowFormSet(BaseInlineFormSet):
    """Windows may not overlap and each must hold at least one slot."""

    def clean(self):
        super().clean()
        windows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if not data or data.get("DELETE") or not data.get("start") or not data.get("end"):
                continue
            windows.append((data["start"], data["end"], form))
        slot_minutes = self.instance.slot_minutes or 0
        for start, end, form in windows:
            minutes = (datetime.combine(date.min, end) - datetime.combine(date.min, start)).seconds // 60
            if start < end and minutes < slot_minutes:
                form.add_error("end", _("The window is shorter than one slot (%(minutes)s minutes).")
                               % {"minutes": slot_minutes})
        ordered = sorted(windows, key=lambda w: w[0])
        for (_s1, end1, _f1), (start2, _e2, form2) in zip(ordered, ordered[1:]):
            if start2 < end1:
                form2.add_error("start", _("The window overlaps the one before it."))
        if not windows and not any(e for e in self.errors):
            raise ValidationError(_("Add at least one time window."))


class SigningWindowInline(admin.TabularInline):
    model = SigningWindow
    formset = SigningWindowFormSet
    extra = 0
    min_num = 1


@admin.register(SigningSchedule)
class SigningScheduleAdmin(BranchScopedAdminMixin, SimpleHistoryAdmin):
    branch_field = "work_group__branch"
    form = SigningScheduleForm
    inlines = [SigningWindowInline]
    list_display = ("name", "work_group", "weekday_list", "window_list", "slot_minutes", "capacity", "is_active")
    list_filter = ("is_active", "work_group")
    search_fields = ("name", "work_group__code", "work_group__name")
    list_select_related = ("work_group",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("windows")

    @admin.display(description=_("weekdays"))
    def weekday_list(self, obj):
        return ", ".join(str(_WEEKDAY_LABELS.get(day, day)) for day in obj.weekdays or ())

    @admin.display(description=_("time windows"))
    def window_list(self, obj):
        return ", ".join(str(window) for window in obj.windows.all())


@admin.register(SigningHoliday)
class SigningHolidayAdmin(SimpleHistoryAdmin):
    list_display = ("date", "name", "kind", "schedule")
    list_filter = ("kind", "schedule")
    search_fields = ("name",)
    date_hierarchy = "date"
    list_select_related = ("schedule",)


@admin.register(SigningAppointment)
class SigningAppointmentAdmin(ReadOnlyAdminMixin, BranchScopedAdminMixin, SimpleHistoryAdmin):
    """The booking journal (预约流水). Changed only through the back office and the API."""

    branch_field = "application__branch"
    list_display = ("slot_start", "application", "schedule", "status", "channel", "booked_by_display", "officer",
                    "result", "reminder_sent_at")
    list_filter = ("status", "channel", "result", "schedule")
    search_fields = ("application__number", "recording_ref")
    date_hierarchy = "slot_start"
    list_select_related = ("application", "schedule", "booked_by", "officer")
    readonly_fields = ("state_changes",)
    fieldsets = (
        (None, {"fields": ("application", "schedule", "slot_start", "slot_end", "status", "channel", "booked_by",
                           "booked_by_label", "reschedule_count", "reminder_sent_at")}),
        (_("Outcome"), {"fields": ("officer", "result", "notes", "recording_ref", "completed_at")}),
        (_("State changes"), {"fields": ("state_changes",)}),
    )

    @admin.display(description=_("booked by"))
    def booked_by_display(self, obj):
        return obj.booked_by or obj.booked_by_label or "—"

    @admin.display(description=_("state changes"))
    def state_changes(self, obj):
        rows = transitions_for(obj).order_by("at", "id")
        body = format_html_join(
            "", "<tr><td>{at}</td><td>{from_state}</td><td>{to_state}</td><td>{actor}</td><td>{reason}</td></tr>",
            (transition_display(t) for t in rows.select_related("content_type", "actor")),
        )
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            _("at"), _("from"), _("to"), _("actor"), _("reason"), body,
        )


@admin.register(SigningSlot)
class SigningSlotAdmin(ReadOnlyAdminMixin, BranchScopedAdminMixin, admin.ModelAdmin):
    branch_field = "schedule__work_group__branch"
    list_display = ("start", "end", "schedule", "booked", "capacity")
    list_filter = ("schedule",)
    date_hierarchy = "start"
    list_select_related = ("schedule",)

    @admin.display(description=_("capacity"))
    def capacity(self, obj):
        return obj.schedule.capacity
