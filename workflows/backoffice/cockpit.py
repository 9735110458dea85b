"""The mobile cockpit (移动驾驶舱) at ``/cockpit/``: one column for a manager's phone — alerts first,
then each key figure large with its change from the day before and a sparkline of two weeks.
``?date=YYYY-MM-DD`` shows another day (a date that is not one answers 400, naming it)."""

from __future__ import annotations

import datetime

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import RedirectView
from viewflow.urls import AppMenuMixin, Viewset

from creditfactory.core.display import format_money
from servicing.charts import sparkline_svg

from ..selectors.cockpit import cockpit_figures
from .instruments import DASHBOARD_PERMISSION

__all__ = ["CockpitMenuViewset", "CockpitView"]


def _text(value, unit: str, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    sign = "+" if signed and value > 0 else ""
    if unit == "money":
        return sign + format_money(value)
    if unit == "percent":
        return f"{sign}{value} %"
    return f"{sign}{value}"


def _card(figure) -> dict:
    return {"key": figure.key, "label": figure.label, "value": _text(figure.value, figure.unit),
            "change": _text(figure.change, figure.unit, signed=True) if figure.change is not None else None,
            "direction": figure.direction, "sparkline": sparkline_svg(figure.trend)}


class CockpitView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = DASHBOARD_PERMISSION
    template_name = "workflows/cockpit.html"

    def get(self, request):
        error, day = None, None
        if request.GET.get("date"):
            try:
                day = datetime.date.fromisoformat(request.GET["date"])
            except ValueError:
                error = _("date: enter a date as YYYY-MM-DD.")
        figures = cockpit_figures(request.user, day=day)
        context = {**figures, "cards": [_card(figure) for figure in figures["figures"]], "error": error}
        return render(request, self.template_name, context, status=400 if error else 200)


class CockpitMenuViewset(AppMenuMixin, Viewset):
    """The sidebar's entry of the cockpit, a page of its own outside the back office's layout."""

    title = gettext_lazy("Mobile cockpit (移动驾驶舱)")
    icon = "smartphone"
    app_name = "cockpit"
    index_path = path("", RedirectView.as_view(pattern_name="cockpit"), name="index")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(DASHBOARD_PERMISSION)
