"""Back-office pages of remote signing: the officer's appointment calendar, booking a slot for
an application, and the appointment page with reschedule / cancel / complete / no-show.

Invalid POSTs re-render with HTTP 422 (Turbo only swaps in a re-rendered form on a 4xx), valid
ones redirect with 303. Staff see appointments of the work groups they work for, limited to
applications of their branches.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from ..forms.signing import BookForm, CancelForm, CompleteForm, NoShowForm, RescheduleForm, apply_service_errors
from ..models import ACTIVE_APPOINTMENT_STATUSES, SigningAppointment, SigningSchedule
from ..selectors.signing import signing_appointment_history, signing_appointments_for, signing_schedules_for
from ..services import signing as services

WORK_ON_QUEUE = "organisations.work_on_queue"
MAX_DAYS = 31


def see_other(url: str) -> HttpResponse:
    return HttpResponse(status=303, headers={"Location": url})


def _url(request, name: str, *args) -> str:
    return reverse(f"{request.resolver_match.namespace}:{name}", args=args)


def _int_param(value, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(value), low), high)
    except (TypeError, ValueError):
        return default


VIEW_APPOINTMENTS = "workflows.view_signingappointment"


def may_open_signing(user) -> bool:
    """The signing pages are for members and leads of a work group with a signing schedule and for
    roles that read appointments (the auditor); the menu shows them to nobody else. One query per
    user object (the sidebar asks on every page)."""
    if not user.is_authenticated:
        return False
    cached = user.__dict__.get("_may_open_signing")
    if cached is None:
        cached = user.has_perm(VIEW_APPOINTMENTS) or SigningSchedule.objects.filter(
            Q(work_group__members=user) | Q(work_group__lead=user), is_active=True).exists()
        user.__dict__["_may_open_signing"] = cached
    return cached


class SigningAccessMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not may_open_signing(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class AppointmentListView(SigningAccessMixin, View):
    template_name = "workflows/signing/appointment_list.html"

    def get(self, request):
        today = timezone.localdate()
        try:
            date_from = date.fromisoformat(request.GET.get("date_from", ""))
        except ValueError:
            date_from = today
        days = _int_param(request.GET.get("days"), 14, 1, MAX_DAYS)
        show_all = request.GET.get("status") == "all"
        date_to = date_from + timedelta(days=days - 1)
        appointments = signing_appointments_for(
            request.user, date_from=date_from, date_to=date_to,
            statuses=None if show_all else ACTIVE_APPOINTMENT_STATUSES)
        by_day = [(day, list(items)) for day, items in
                  groupby(appointments, key=lambda a: timezone.localtime(a.slot_start).date())]
        return render(request, self.template_name, {
            "by_day": by_day, "date_from": date_from, "date_to": date_to, "days": days, "show_all": show_all,
            "schedules": signing_schedules_for(request.user), "book_url": _url(request, "book"),
            "previous_from": date_from - timedelta(days=days), "next_from": date_to + timedelta(days=1),
        })


class BookView(LoginRequiredMixin, View):
    """Booking from the back office: for members of a signing work group (their schedules are the
    form's choices); anyone else is refused outright rather than shown an empty form."""

    template_name = "workflows/signing/book.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not signing_schedules_for(request.user).exists():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def _render(self, request, form, status=200):
        return render(request, self.template_name, {"form": form, "schedule": form.selected_schedule()},
                      status=status)

    def get(self, request):
        initial = {key: request.GET[key] for key in ("application", "schedule") if request.GET.get(key)}
        return self._render(request, BookForm(user=request.user, initial=initial))

    def post(self, request):
        form = BookForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                appointment = services.signing_book(
                    application=form.cleaned_data["application"], slot_start=form.cleaned_data["slot_start"],
                    schedule=form.cleaned_data["schedule"], actor=request.user, channel="back_office")
            except ValidationError as exc:
                apply_service_errors(form, exc, aliases={"work_group": "schedule"})
            else:
                messages.success(request, _("Signing booked for %(application)s.")
                                 % {"application": appointment.application.number})
                return see_other(_url(request, "detail", appointment.pk))
        return self._render(request, form, status=422)


def _appointment_for(request, pk: int) -> SigningAppointment:
    appointment = signing_appointments_for(request.user).filter(pk=pk).select_related("schedule").first()
    if appointment is None:
        raise Http404
    return appointment


class AppointmentDetailView(SigningAccessMixin, View):
    template_name = "workflows/signing/appointment_detail.html"

    def get(self, request, pk):
        return self.render_page(request, _appointment_for(request, pk))

    def render_page(self, request, appointment, *, bound=None, status=200):
        forms = {
            "reschedule": RescheduleForm(appointment=appointment),
            "cancel": CancelForm(),
            "complete": CompleteForm(),
            "no_show": NoShowForm(),
        }
        if bound is not None:
            forms[bound[0]] = bound[1]
        can_act = appointment.is_active and request.user.has_perm(WORK_ON_QUEUE, appointment.schedule.work_group)
        return render(request, self.template_name, {
            "appointment": appointment, "history": signing_appointment_history(appointment),
            "forms": forms, "can_act": can_act,
            "action_urls": {name: _url(request, name, appointment.pk)
                            for name in ("reschedule", "cancel", "complete", "no_show")},
            "list_url": _url(request, "index"),
        }, status=status)


class AppointmentActionView(AppointmentDetailView):
    """POST of one action form of the appointment page."""

    action = ""
    form_class = None
    success_message = ""

    def get(self, request, pk):
        return see_other(_url(request, "detail", pk))

    def make_form(self, request, appointment):
        return self.form_class(request.POST)

    def perform(self, request, appointment, data):
        raise NotImplementedError

    def post(self, request, pk):
        appointment = _appointment_for(request, pk)
        if not request.user.has_perm(WORK_ON_QUEUE, appointment.schedule.work_group):
            raise PermissionDenied
        form = self.make_form(request, appointment)
        if form.is_valid():
            try:
                self.perform(request, appointment, form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc, aliases={"officer": None, "status": None})
            else:
                messages.success(request, self.success_message)
                return see_other(_url(request, "detail", pk))
        return self.render_page(request, appointment, bound=(self.action, form), status=422)


class RescheduleView(AppointmentActionView):
    action = "reschedule"
    success_message = gettext_lazy("Appointment rescheduled.")

    def make_form(self, request, appointment):
        return RescheduleForm(request.POST, appointment=appointment)

    def perform(self, request, appointment, data):
        services.signing_reschedule(appointment=appointment, slot_start=data["slot_start"], reason=data["reason"],
                                    actor=request.user)


class CancelView(AppointmentActionView):
    action = "cancel"
    form_class = CancelForm
    success_message = gettext_lazy("Appointment cancelled.")

    def perform(self, request, appointment, data):
        services.signing_cancel(appointment=appointment, reason=data["reason"], actor=request.user)


class CompleteView(AppointmentActionView):
    action = "complete"
    form_class = CompleteForm
    success_message = gettext_lazy("Signing result recorded.")

    def perform(self, request, appointment, data):
        services.signing_complete(appointment=appointment, officer=request.user, result=data["result"],
                                  notes=data["notes"], recording_ref=data["recording_ref"])


class NoShowView(AppointmentActionView):
    action = "no_show"
    form_class = NoShowForm
    success_message = gettext_lazy("Marked as a no-show.")

    def perform(self, request, appointment, data):
        services.signing_mark_no_show(appointment=appointment, actor=request.user, reason=data["reason"])


class SigningViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Signing appointments")
    icon = "video_call"
    app_name = "appointments"
    index_path = path("", AppointmentListView.as_view(), name="index")
    book_path = path("book/", BookView.as_view(), name="book")
    detail_path = path("<int:pk>/", AppointmentDetailView.as_view(), name="detail")
    reschedule_path = path("<int:pk>/reschedule/", RescheduleView.as_view(), name="reschedule")
    cancel_path = path("<int:pk>/cancel/", CancelView.as_view(), name="cancel")
    complete_path = path("<int:pk>/complete/", CompleteView.as_view(), name="complete")
    no_show_path = path("<int:pk>/no-show/", NoShowView.as_view(), name="no_show")

    def has_view_permission(self, user, obj=None):
        return may_open_signing(user)
