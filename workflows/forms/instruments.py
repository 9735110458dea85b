"""The filters of the data dashboard (数据仪表盘) and the cockpit: a date range (by default the
month to date), product, branch (those the viewer sees), channel (the lender's own channels or a
partner) and funder."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from creditfactory.organisations.scoping import visible_branches
from creditfactory.partners.models import Partner
from products.models import LoanProduct
from servicing.models import Funder

from ..selectors.instruments import OWN_CHANNEL, DashboardFilters

__all__ = ["MAX_RANGE_DAYS", "DashboardFilterForm", "UsageFilterForm", "default_filters"]

MAX_RANGE_DAYS = 366


class DashboardFilterForm(forms.Form):
    start = forms.DateField(label=_("First day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    product = forms.ModelChoiceField(label=_("Product"), queryset=LoanProduct.objects.order_by("name"),
                                     required=False, empty_label=_("All products"))
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=None, required=False, empty_label=_("All branches"))
    channel = forms.ChoiceField(label=_("Channel"), required=False)
    funder = forms.ModelChoiceField(label=_("Funder"), queryset=Funder.objects.order_by("priority", "code"),
                                    required=False, empty_label=_("All funders"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].queryset = visible_branches(user).order_by("path")
        partners = [(str(pk), name) for pk, name in Partner.objects.order_by("name").values_list("pk", "name")]
        self.fields["channel"].choices = [("", _("All channels")), (OWN_CHANNEL, _("Own channels (no partner)")),
                                          *partners]

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end.replace(day=1)
        if "end" in self.errors or "start" in self.errors:
            return data
        if start > end:
            self.add_error("end", _("The end of the range is before its start."))
        elif (end - start).days >= MAX_RANGE_DAYS:
            self.add_error("end", _("Choose a range of at most %(days)s days.") % {"days": MAX_RANGE_DAYS})
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> DashboardFilters:
        data = self.cleaned_data
        return DashboardFilters(start=data["start"], end=data["end"],
                                product_id=data["product"].pk if data.get("product") else None,
                                branch_id=data["branch"].pk if data.get("branch") else None,
                                channel=data.get("channel") or None,
                                funder_id=data["funder"].pk if data.get("funder") else None)


def default_filters() -> DashboardFilters:
    today = timezone.localdate()
    return DashboardFilters(start=today.replace(day=1), end=today)



class UsageFilterForm(forms.Form):
    """The usage statistics' range: by default the last 14 days."""

    start = forms.DateField(label=_("First day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Last day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if "end" in self.errors or "start" in self.errors:
            return data
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - timedelta(days=13)
        if start > end:
            self.add_error("end", _("The end of the range is before its start."))
        elif (end - start).days >= MAX_RANGE_DAYS:
            self.add_error("end", _("Choose a range of at most %(days)s days.") % {"days": MAX_RANGE_DAYS})
        data["start"], data["end"] = start, end
        return data
