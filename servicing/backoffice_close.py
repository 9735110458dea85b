"""Back-office pages of the daily close (日终): the runs with their status and a progress bar
(chunks finished of the current stage), one run's figures per phase (rows and seconds, summed
over its chunks), its chunks per stage and every failure with its loan; and, for whoever may
(``servicing.run_close``), starting the close of the current business date on the workers after
a confirmation page (``close_run_request``)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from creditfactory.core.display import format_date

from .models import CloseRun, CloseRunStatus
from .selectors.close import close_run_figures, close_runs, run_progress
from .services.calendar import business_date
from .services.close.request import RUN_PERMISSION, close_run_request

__all__ = ["CloseRunsViewset"]

VIEW_PERMISSION = "servicing.view_closerun"
LIMIT = 100


class CloseView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION


class CloseRunListView(CloseView):
    def get(self, request):
        runs = list(close_runs()[:LIMIT])
        for run in runs:
            run.progress = run_progress(run)
        return render(request, "servicing/close_runs.html", {
            "runs": runs, "business_date": business_date(), "may_run": request.user.has_perm(RUN_PERMISSION),
            "running": any(run.status == CloseRunStatus.RUNNING for run in runs)})


class CloseRunDetailView(CloseView):
    def get(self, request, pk):
        run = get_object_or_404(CloseRun.objects.select_related("actor"), pk=pk)
        return render(request, "servicing/close_run_detail.html", {
            "run": run, "progress": run_progress(run), **close_run_figures(run)})


class CloseRunStartView(CloseView):
    """GET: what will happen, and a button; POST: start (or resume) the close on the workers."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm(RUN_PERMISSION):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        current = business_date()
        return render(request, "servicing/close_run_confirm.html", {
            "business_date": current,
            "running": CloseRun.objects.filter(business_date=current, status=CloseRunStatus.RUNNING).first()})

    def post(self, request):
        if request.POST.get("confirm") != "yes":
            return HttpResponse(status=303, headers={"Location": reverse("lending:close:start")})
        run = close_run_request(actor=request.user)
        messages.success(request, _("The close of %(date)s is running on the workers.")
                         % {"date": format_date(run.business_date)})
        return HttpResponse(status=303, headers={"Location": reverse("lending:close:detail", args=[run.pk])})


class CloseRunsViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Daily close (日终)")
    icon = "event_available"
    app_name = "close"
    index_path = path("", CloseRunListView.as_view(), name="index")
    start_path = path("run/", CloseRunStartView.as_view(), name="start")
    detail_path = path("<int:pk>/", CloseRunDetailView.as_view(), name="detail")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
