"""Usage statistics (使用情况) at ``/dashboard/usage/`` for managers: API calls per partner and day as
a chart, per endpoint and status; staff active per day; tasks handled per work group and officer;
webhook deliveries per partner. Charts are inline SVG (``servicing.charts``)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from servicing.charts import bars_svg, lines_svg

from ..forms.instruments import UsageFilterForm
from ..selectors.usage import usage_figures
from .instruments import DASHBOARD_PERMISSION

__all__ = ["UsageView", "UsageViewset"]


class UsageView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = DASHBOARD_PERMISSION
    template_name = "workflows/usage.html"

    def get(self, request):
        form = UsageFilterForm(request.GET or None)
        if form.is_bound and form.is_valid():
            start, end, status = form.cleaned_data["start"], form.cleaned_data["end"], 200
        else:
            end = timezone.localdate()
            start, status = end - timedelta(days=13), 400 if form.is_bound else 200
        figures = usage_figures(start=start, end=end)
        labels = [f"{day:%m-%d}" for day in figures["days"]]
        charts = {
            "chart_api": lines_svg(figures["api_series"], labels=labels, label=_("API calls per partner and day")),
            "chart_staff": lines_svg([(_("Active staff"), figures["active_staff"])], labels=labels,
                                     label=_("Active staff per day")),
            "chart_groups": bars_svg(figures["tasks_by_group"], label=_("Tasks handled per work group")),
        }
        return render(request, self.template_name, {"form": form, **figures, **charts}, status=status)


class UsageViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Usage statistics (使用情况)")
    icon = "query_stats"
    app_name = "usage"
    index_path = path("", UsageView.as_view(), name="index")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(DASHBOARD_PERMISSION)
