"""Unit economics (单笔信贷结构核算) in the back office: each loan's income, costs and
contribution margin, summed per product, channel, lead funder or grade; and the pricing simulator
(break-even rate and the margin at a chosen rate, checked against the APR cap). docs/economics.md."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views import View
from viewflow.urls import AppMenuMixin, Viewset

from creditfactory.organisations.scoping import scope_queryset
from servicing.calculator import CalculatorError
from servicing.models import Loan
from servicing.services.calendar import business_date

from ..forms.economics import EconomicsFilterForm, PricingForm
from ..selectors.economics import COMPONENTS, GROUPINGS, PricingInputs, economics_by, loans_economics, pricing_simulate

PERMISSION = "workflows.view_unit_economics"
PAGE_LOANS = 200  # the newest loans of the selection, listed one by one (the sums cover all of them)
MAX_LOANS = 5000  # a selection larger than this is refused: narrow the dates or the product


class EconomicsView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = PERMISSION
    template_name = "workflows/economics.html"

    def get(self, request):
        form = EconomicsFilterForm(request.GET or None)
        context = {"form": form, "components": COMPONENTS, "on": business_date()}
        if form.is_bound and not form.is_valid():
            return render(request, self.template_name, context)
        data = form.cleaned_data if form.is_bound else {}
        loans = scope_queryset(Loan.objects.all(), request.user)  # the loans of the user's branches
        if data.get("value_from"):
            loans = loans.filter(value_date__gte=data["value_from"])
        if data.get("value_to"):
            loans = loans.filter(value_date__lte=data["value_to"])
        if data.get("product"):
            loans = loans.filter(product_version__product=data["product"])
        total = loans.count()
        if total > MAX_LOANS:
            form.add_error(None, _("%(count)s loans match: narrow the dates or the product (at most %(max)s).")
                           % {"count": total, "max": MAX_LOANS})
            return render(request, self.template_name, context)
        rows = loans_economics(list(loans.only("pk")), on=context["on"])
        grouping = data.get("group") or "product"
        names = [name for name, _label in COMPONENTS]
        context.update(
            rows=[(row.loan, [row.as_dict()[name] for name in names]) for row in rows[:PAGE_LOANS]],
            total=total, grouping=grouping, grouping_label=GROUPINGS[grouping],
            groups=[(group, [group[name] for name in names]) for group in economics_by(rows, grouping=grouping)])
        return render(request, self.template_name, context)


class PricingView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = PERMISSION
    template_name = "workflows/pricing.html"

    def get(self, request):
        form = PricingForm(request.GET or None)
        result = None
        if form.is_bound and form.is_valid():
            data = form.cleaned_data
            inputs = PricingInputs(
                product_version=data["product"].current_version, amount=data["amount"], term=data["term"],
                method=data["method"], grade_mix=data["grade_mix"],
                cost_of_funds_percent=data["cost_of_funds_percent"], acquisition_cost=data["acquisition_cost"],
                data_cost=data["data_cost"], payment_cost=data["payment_cost"], rate_percent=data["rate_percent"],
                start=business_date())
            try:
                result = pricing_simulate(inputs)
            except CalculatorError as exc:
                for field, messages in exc.errors.items():
                    form.add_error(field if field in form.fields else None, messages)
        return render(request, self.template_name, {"form": form, "result": result})


class EconomicsViewset(AppMenuMixin, Viewset):
    title = _("Unit economics (单笔核算)")
    icon = "insights"
    app_name = "economics"
    index_path = path("", EconomicsView.as_view(), name="index")
    pricing_path = path("pricing/", PricingView.as_view(), name="pricing")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(PERMISSION)
