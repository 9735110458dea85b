"""The origination dashboard page (数据仪表盘): the day's applications by status, the
straight-through rate, tasks past their SLA per work group, and quality inspection pending /
failed. ``?date=YYYY-MM-DD`` shows another day (default: today)."""

from __future__ import annotations

from datetime import date, timedelta

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from ..selectors.dashboard import dashboard_for

VIEW_PERMISSION = "workflows.view_creditapplication"


class DashboardView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = VIEW_PERMISSION
    template_name = "workflows/dashboard.html"

    def get(self, request):
        today = timezone.localdate()
        try:
            day = date.fromisoformat(request.GET.get("date", ""))
        except ValueError:
            day = today
        context = dashboard_for(request.user, day=day)
        context.update(previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1) if day < today else None,
                       is_today=day == today)
        return render(request, self.template_name, context)


class DashboardViewset(AppMenuMixin, Viewset):
    title = gettext_lazy("Dashboard (数据仪表盘)")
    icon = "dashboard"
    app_name = "dashboard"
    index_path = path("", DashboardView.as_view(), name="index")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
