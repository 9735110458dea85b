"""Back-office pages of credit lines (贷中额度管理): the lines list, the line page (limit, used,
held, available, history, change requests, drawdowns, warnings; request a change, decide a
change waiting for approval), the approvals queue of line changes and the in-loan warnings
queue (confirm or lift).

Invalid POSTs re-render with HTTP 422 (Turbo swaps a re-rendered form only on a 4xx); a recorded
action redirects with 303 to the page it came from.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from servicing.models import CreditLineChange, CreditLineStatus, WarningStatus

from ..forms.line_changes import LineChangeDecisionForm, LineChangeForm, WarningDecisionForm, apply_service_errors
from ..selectors.line_changes import change_open_task, change_process, four_eyes_excluded, line_change_tasks_for
from ..selectors.lines import (
    line_drawdowns, line_for, line_history, line_warnings, line_warnings_queue, lines_for, may_handle_warnings,
    warning_for,
)
from ..services.line_changes import line_change_decide, line_change_submit
from ..services.warnings import HANDLE_PERMISSION, warning_confirm, warning_lift

VIEW_PERMISSION = "servicing.view_creditline"
REQUEST_PERMISSION = "servicing.add_creditlinechange"


def see_other(url: str) -> HttpResponse:
    return HttpResponse(status=303, headers={"Location": url})


def _url(request, name: str, *args) -> str:
    return reverse(f"{request.resolver_match.namespace}:{name}", args=args)


class LineView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION


class LineListView(LineView):
    def get(self, request):
        status = request.GET.get("status") or ""
        if status not in CreditLineStatus.values:
            status = ""
        lines = lines_for(request.user, status=status or None)
        return render(request, "servicing/line_list.html", {
            "lines": lines[:200], "count": lines.count(), "status": status,
            "filters": [("", _("All"), status == "")] + [(value, label, value == status)
                                                        for value, label in CreditLineStatus.choices],
        })


def _pending(change: CreditLineChange, user) -> dict | None:
    """The open approval task of a change and whether ``user`` may decide it."""
    if change.status != "requested":
        return None
    process = change_process(change)
    task = change_open_task(process)
    if task is None:
        return None
    node = task.flow_task
    may = user.pk not in four_eyes_excluded(process) and (
        node.can_execute(user, task) if task.owner_id else node.can_assign(user, task))
    return {"task": task, "may_decide": may}


class LineDetailView(LineView):
    template_name = "servicing/line_detail.html"

    def render_page(self, request, line, *, form=None, decision_form=None, decision_change=None, status=200):
        changes = []
        for change in line.changes.select_related("requested_by", "decided_by", "partner").order_by("-created_at",
                                                                                                     "-id"):
            pending = _pending(change, request.user)
            changes.append({"change": change, "pending": pending,
                            "form": decision_form if decision_change == change.pk else LineChangeDecisionForm()})
        return render(request, self.template_name, {
            "line": line, "history": line_history(line), "changes": changes,
            "drawdowns": line_drawdowns(line)[:100], "warnings": line_warnings(line)[:100],
            "form": form or LineChangeForm(),
            "can_request": request.user.has_perm(REQUEST_PERMISSION) and line.status in (
                CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN),
        }, status=status)

    def get(self, request, pk):
        return self.render_page(request, line_for(user=request.user, pk=pk))


class LineChangeRequestView(LineDetailView):
    def post(self, request, pk):
        line = line_for(user=request.user, pk=pk)
        if not request.user.has_perm(REQUEST_PERMISSION):
            raise PermissionDenied
        form = LineChangeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                change = line_change_submit(line=line, kind=data["kind"], new_limit=data.get("new_limit"),
                                            reason=data["reason"], source="officer", actor=request.user)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Change %(number)s: %(status)s.")
                                 % {"number": change.number, "status": change.get_status_display()})
                return see_other(_url(request, "detail", line.pk))
        return self.render_page(request, line, form=form, status=422)


class LineChangeDecideView(LineDetailView):
    def post(self, request, pk, change_pk):
        line = line_for(user=request.user, pk=pk)
        change = get_object_or_404(CreditLineChange, pk=change_pk, credit_line=line)
        form = LineChangeDecisionForm(request.POST)
        if form.is_valid():
            try:
                change = line_change_decide(change=change, actor=request.user, action=form.cleaned_data["action"],
                                            note=form.cleaned_data["note"])
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Change %(number)s: %(status)s.")
                                 % {"number": change.number, "status": change.get_status_display()})
                return see_other(request.POST.get("next") or _url(request, "detail", line.pk))
        return self.render_page(request, line, decision_form=form, decision_change=change.pk, status=422)


class LineApprovalsView(LineView):
    def get(self, request):
        return render(request, "servicing/line_approvals.html", {"rows": line_change_tasks_for(request.user)})


class LinesViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Credit lines (授信额度)")
    icon = "credit_score"
    app_name = "lines"
    index_path = path("", LineListView.as_view(), name="index")
    approvals_path = path("approvals/", LineApprovalsView.as_view(), name="approvals")
    detail_path = path("<int:pk>/", LineDetailView.as_view(), name="detail")
    request_path = path("<int:pk>/changes/", LineChangeRequestView.as_view(), name="request")
    decide_path = path("<int:pk>/changes/<int:change_pk>/", LineChangeDecideView.as_view(), name="decide")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)


# --- the warnings queue ---------------------------------------------------------------------------


class WarningView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = HANDLE_PERMISSION
    template_name = "servicing/warning_queue.html"

    def has_permission(self):
        return may_handle_warnings(self.request.user)

    def render_page(self, request, *, form=None, form_warning=None, status=200):
        state = request.GET.get("status") or WarningStatus.OPEN
        if state not in WarningStatus.values:
            state = WarningStatus.OPEN
        warnings = line_warnings_queue(request.user, status=state)
        return render(request, self.template_name, {
            "rows": [{"warning": w, "form": form if form_warning == w.pk else WarningDecisionForm()}
                     for w in warnings[:200]],
            "count": warnings.count(), "status": state,
            "filters": [(value, label, value == state) for value, label in WarningStatus.choices],
        }, status=status)

    def get(self, request):
        return self.render_page(request)


class WarningDecideView(WarningView):
    def post(self, request, pk):
        warning = warning_for(user=request.user, pk=pk)
        form = WarningDecisionForm(request.POST)
        if form.is_valid():
            action, note = form.cleaned_data["action"], form.cleaned_data["note"]
            try:
                if action == "confirm":
                    warning_confirm(warning=warning, actor=request.user, note=note)
                else:
                    warning_lift(warning=warning, actor=request.user, note=note)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, _("Warning on %(line)s handled.") % {"line": warning.credit_line})
                return see_other(_url(request, "index"))
        return self.render_page(request, form=form, form_warning=warning.pk, status=422)


class WarningsViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("In-loan warnings (贷中预警)")
    icon = "warning"
    app_name = "warnings"
    index_path = path("", WarningView.as_view(), name="index")
    decide_path = path("<int:pk>/", WarningDecideView.as_view(), name="decide")

    def has_view_permission(self, user, obj=None):
        return may_handle_warnings(user)
