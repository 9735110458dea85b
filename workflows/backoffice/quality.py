"""Back-office pages of quality inspection (抽样质检): the QA queue (pending inspections of the
inspector's branches, or any status) and the inspect form (passed / failed + findings).

Invalid POSTs re-render with HTTP 422 (Turbo swaps a re-rendered form only on a 4xx); a recorded
verdict redirects with 303 to the queue.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from risk.selectors import current_decision

from ..forms.quality import InspectForm, apply_inspection_errors
from ..models import InspectionStatus
from ..selectors.quality import quality_inspection_for, quality_inspections_for
from ..services.quality import INSPECT_PERMISSION, quality_inspection_complete

VIEW_PERMISSION = "workflows.view_qualityinspection"
STATUS_FILTERS = ("pending", "passed", "failed", "all")


def see_other(url: str) -> HttpResponse:
    return HttpResponse(status=303, headers={"Location": url})


def _url(request, name: str, *args) -> str:
    return reverse(f"{request.resolver_match.namespace}:{name}", args=args)


class QualityView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION


class QueueView(QualityView):
    template_name = "workflows/quality/queue.html"

    def get(self, request):
        status = request.GET.get("status") or InspectionStatus.PENDING
        if status not in STATUS_FILTERS:
            status = InspectionStatus.PENDING
        inspections = quality_inspections_for(request.user, status=None if status == "all" else status)
        return render(request, self.template_name, {
            "inspections": inspections[:200], "count": inspections.count(), "status": status,
            "filters": [(value, value == status) for value in STATUS_FILTERS],
        })


class InspectView(QualityView):
    template_name = "workflows/quality/inspect.html"

    def _render(self, request, inspection, form, status=200):
        decision = current_decision(application_id=inspection.application_id)
        return render(request, self.template_name, {
            "inspection": inspection, "application": inspection.application, "decision": decision, "form": form,
            "can_inspect": inspection.status == InspectionStatus.PENDING and request.user.has_perm(INSPECT_PERMISSION),
            "queue_url": _url(request, "index"),
        }, status=status)

    def get(self, request, pk):
        return self._render(request, quality_inspection_for(user=request.user, pk=pk), InspectForm())

    def post(self, request, pk):
        inspection = quality_inspection_for(user=request.user, pk=pk)
        if not request.user.has_perm(INSPECT_PERMISSION):
            raise PermissionDenied
        form = InspectForm(request.POST)
        if form.is_valid():
            try:
                quality_inspection_complete(inspection=inspection, actor=request.user,
                                            result=form.cleaned_data["result"], findings=form.cleaned_data["findings"])
            except ValidationError as exc:
                apply_inspection_errors(form, exc)
            else:
                messages.success(request, _("Inspection of %(number)s recorded.")
                                 % {"number": inspection.application.number})
                return see_other(_url(request, "index"))
        return self._render(request, inspection, form, status=422)


class QualityViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Quality inspection (抽样质检)")
    icon = "fact_check"
    app_name = "quality"
    index_path = path("", QueueView.as_view(), name="index")
    inspect_path = path("<int:pk>/", InspectView.as_view(), name="inspect")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
