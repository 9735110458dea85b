"""Forms of the unit economics pages: the portfolio filter and the pricing simulator."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from products.models import LoanProduct, ProductStatus, RepaymentMethod

from ..models import ExpectedLossRate
from ..selectors.economics import GROUPINGS

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0")}


class EconomicsFilterForm(forms.Form):
    value_from = forms.DateField(label=_("Booked from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    value_to = forms.DateField(label=_("Booked until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    product = forms.ModelChoiceField(label=_("Product"), required=False, queryset=LoanProduct.objects.order_by("code"),
                                     to_field_name="code")
    group = forms.ChoiceField(label=_("Group by"), choices=list(GROUPINGS.items()), required=False)

    def clean(self):
        data = super().clean()
        if data.get("value_from") and data.get("value_to") and data["value_from"] > data["value_to"]:
            self.add_error("value_to", _("The end of the range is before its start."))
        return data


class PricingForm(forms.Form):
    """The simulator's inputs; one share field per grade with an expected-loss rate."""

    product = forms.ModelChoiceField(label=_("Product"), to_field_name="code",
                                     queryset=LoanProduct.objects.filter(status=ProductStatus.ACTIVE)
                                     .select_related("current_version").order_by("code"))
    amount = forms.DecimalField(label=_("Amount (CNY)"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    term = forms.IntegerField(label=_("Term"), min_value=1, max_value=600)
    method = forms.ChoiceField(label=_("Repayment method"), choices=RepaymentMethod.choices)
    rate_percent = forms.DecimalField(label=_("Annual rate to price at (%)"), max_digits=9, decimal_places=4,
                                      min_value=Decimal("0"), max_value=Decimal("100"))
    cost_of_funds_percent = forms.DecimalField(label=_("Cost of funds (annual %)"), max_digits=9, decimal_places=4,
                                               min_value=Decimal("0"), max_value=Decimal("100"))
    acquisition_cost = forms.DecimalField(label=_("Acquisition cost per loan (CNY)"), **MONEY)
    data_cost = forms.DecimalField(label=_("Data cost per loan (CNY)"), **MONEY)
    payment_cost = forms.DecimalField(label=_("Payment cost per transaction (CNY)"), **MONEY)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.grades = list(ExpectedLossRate.objects.values_list("grade", flat=True))
        for grade in self.grades:
            self.fields[f"grade_{grade}"] = forms.DecimalField(
                label=_("Share of grade %(grade)s (%%)") % {"grade": grade}, required=False, max_digits=6,
                decimal_places=2, min_value=Decimal("0"), max_value=Decimal("100"))

    def grade_fields(self):
        return [self[f"grade_{grade}"] for grade in self.grades]

    def clean(self):
        data = super().clean()
        mix = {grade: data.get(f"grade_{grade}") for grade in self.grades if data.get(f"grade_{grade}")}
        if not self.grades:
            raise forms.ValidationError(_("No grade has an expected loss rate yet: add them in admin."))
        if sum(mix.values(), Decimal(0)) != 100:
            raise forms.ValidationError(_("The grade shares must add up to 100 %."))
        data["grade_mix"] = mix
        product = data.get("product")
        version = product.current_version if product else None
        if version is not None:
            if data.get("method") and data["method"] not in (version.repayment_methods or []):
                self.add_error("method", _("The product does not offer this repayment method."))
            if data.get("term") and not version.term_min <= data["term"] <= version.term_max:
                self.add_error("term", _("The product's terms are %(min)s to %(max)s.")
                               % {"min": version.term_min, "max": version.term_max})
        return data
