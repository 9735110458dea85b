"""The instruments in the back office: the data dashboard (数据仪表盘) at ``/dashboard/`` for
managers (``servicing.view_dashboard``, the manager role), with its filters and charts drawn as
inline SVG (``servicing.charts``). The cockpit and the usage statistics have their own modules."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import RedirectView
from viewflow.urls import AppMenuMixin, Viewset

from servicing.charts import bars_svg, lines_svg

from ..forms.instruments import DashboardFilterForm, default_filters
from ..selectors.instruments import dashboard_figures

__all__ = ["DASHBOARD_PERMISSION", "DashboardMenuViewset", "PortfolioDashboardView"]

DASHBOARD_PERMISSION = "servicing.view_dashboard"


def dashboard_charts(figures: dict) -> dict:
    return {
        "chart_by_product": bars_svg([(row["label"], row["range"]) for row in figures["applications_by_product"]],
                                     label=_("Applications by product")),
        "chart_by_channel": bars_svg([(row["label"], row["range"]) for row in figures["applications_by_channel"]],
                                     label=_("Applications by channel")),
        "chart_outstanding_by_funder": bars_svg(
            [(row["funder__name"], row["outstanding"]) for row in figures["outstanding_by_funder"]],
            label=_("Principal outstanding by funder")),
        "chart_classification": bars_svg([(row["label"], row["outstanding"]) for row in figures["classification"]],
                                         label=_("Principal outstanding by classification")),
        "chart_recovery": bars_svg([(row["bucket"], row["rate"]) for row in figures["recovery"]],
                                   label=_("Recovery rate by bucket (%)")),
        "chart_vintage": lines_svg([(f"{row['cohort']:%Y-%m}", row["points"]) for row in figures["vintage"]],
                                   labels=figures["vintage_months"], suffix="%",
                                   label=_("DPD 30+ by month on book")),
    }


class PortfolioDashboardView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = DASHBOARD_PERMISSION
    template_name = "workflows/instruments_dashboard.html"

    def get(self, request):
        form = DashboardFilterForm(request.GET or None, user=request.user)
        status = 200
        if form.is_bound and form.is_valid():
            filters = form.filters()
        else:
            filters = default_filters()
            status = 400 if form.is_bound else 200
        figures = dashboard_figures(request.user, filters=filters)
        return render(request, self.template_name, {"form": form, **figures, **dashboard_charts(figures)},
                      status=status)


class DashboardMenuViewset(AppMenuMixin, Viewset):
    """The sidebar's entry of the dashboard (the page itself is the section's index, ``/dashboard/``)."""

    title = gettext_lazy("Data dashboard (数据仪表盘)")
    icon = "insights"
    app_name = "portfolio"
    index_path = path("", RedirectView.as_view(pattern_name="dashboard:index"), name="index")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(DASHBOARD_PERMISSION)
