"""Admin of funding and the payment channel: funders, co-lending pairs (shares summing to 100 %),
routing rules with "test this routing", and payment channels. Imported by ``servicing.admin``."""

from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext, gettext_lazy as _

from creditfactory.core import forms as cf_forms
from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.core.money import format_money
from products.models import LoanProduct

from .models import (
    CoLendingPair, CoLendingShare, Disbursement, DisbursementEvent, Funder, PaymentChannel, RoutingRule,
    SandboxBankTransfer,
)
from .routing import RouteSample, explanation_lines
from .services.funding import funding_preview


@admin.register(Funder)
class FunderAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "priority", "cost_of_funds_percent", "daily_quota", "total_quota",
                    "total_used_display", "active_hours", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    filter_horizontal = ("products",)
    readonly_fields = ("total_used",)

    @admin.display(description=_("total quota used"))
    def total_used_display(self, obj):
        return format_money(obj.total_used)

    @admin.display(description=_("active hours"))
    def active_hours(self, obj):
        if obj.active_from is None and obj.active_until is None:
            return gettext("all day")
        start = obj.active_from.strftime("%H:%M") if obj.active_from else "00:00"
        end = obj.active_until.strftime("%H:%M") if obj.active_until else "24:00"
        return f"{start}–{end}"


class CoLendingShareFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [f.cleaned_data for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        total = sum((row.get("share_percent") or Decimal("0") for row in kept), Decimal("0"))
        if kept and total != Decimal("100"):
            raise ValidationError(gettext("The shares must add up to 100%% (they add up to %(total)s%%).")
                                  % {"total": format(total.normalize(), "f")})
        if len(kept) < 2:
            raise ValidationError(gettext("A co-lending pair needs at least two funders."))


class CoLendingShareInline(admin.TabularInline):
    model = CoLendingShare
    formset = CoLendingShareFormSet
    extra = 2
    autocomplete_fields = ("funder",)


@admin.register(CoLendingPair)
class CoLendingPairAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "shares_display", "active")
    list_filter = ("active",)
    search_fields = ("code", "name")
    inlines = [CoLendingShareInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(
            Prefetch("shares", queryset=CoLendingShare.objects.select_related("funder")))

    @admin.display(description=_("shares"))
    def shares_display(self, obj):
        return " / ".join(f"{s.funder.name} {format(s.share_percent.normalize(), 'f')}%" for s in obj.shares.all())


class RouteTestForm(forms.Form):
    product = forms.ModelChoiceField(label=_("product"), queryset=LoanProduct.objects.order_by("code"))
    amount = cf_forms.DecimalField(label=_("amount"), min_value=Decimal("0.01"), max_digits=14, decimal_places=2)
    term = cf_forms.IntegerField(label=_("term"), min_value=1, max_value=600)
    grade = forms.CharField(label=_("grade"), max_length=1, required=False)
    region = forms.CharField(label=_("region (province code)"), max_length=2, required=False,
                             help_text=_("Two digits, e.g. 11 for Beijing."))

    def sample(self) -> RouteSample:
        data = self.cleaned_data
        return RouteSample(product_id=data["product"].pk, product_code=data["product"].code, amount=data["amount"],
                           term=data["term"], grade=data["grade"].strip().upper(), region=data["region"].strip())


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "priority", "target", "conditions", "fallback", "active")
    list_filter = ("active", "fallback")
    search_fields = ("name",)
    filter_horizontal = ("products",)
    autocomplete_fields = ("funder", "pair")
    list_select_related = ("funder", "pair")
    change_list_template = "admin/servicing/routingrule/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("products")

    @admin.display(description=_("funded by"))
    def target(self, obj):
        return obj.funder or obj.pair

    @admin.display(description=_("conditions"))
    def conditions(self, obj):
        parts = []
        if products := [p.code for p in obj.products.all()]:
            parts.append(", ".join(sorted(products)))
        if obj.amount_min is not None or obj.amount_max is not None:
            parts.append(gettext("amount %(min)s – %(max)s") % {
                "min": format_money(obj.amount_min) if obj.amount_min is not None else "…",
                "max": format_money(obj.amount_max) if obj.amount_max is not None else "…"})
        if obj.term_min is not None or obj.term_max is not None:
            parts.append(gettext("term %(min)s – %(max)s") % {"min": obj.term_min or "…", "max": obj.term_max or "…"})
        if obj.grades:
            parts.append(gettext("grades %(grades)s") % {"grades": ", ".join(obj.grades)})
        if obj.regions:
            parts.append(gettext("regions %(regions)s") % {"regions": ", ".join(obj.regions)})
        return "; ".join(parts) or gettext("any drawdown")

    def get_urls(self):
        return [path("test/", self.admin_site.admin_view(self.test_view), name="servicing_routingrule_test"),
                *super().get_urls()]

    def test_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        form = RouteTestForm(request.POST or None)
        outcome = lines = None
        if request.method == "POST" and form.is_valid():
            outcome = funding_preview(sample=form.sample())
            lines = explanation_lines({"considered": outcome.considered})
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form, "outcome": outcome,
            "lines": lines, "title": gettext("Test this routing"),
            "changelist_url": reverse("admin:servicing_routingrule_changelist"),
        }
        return TemplateResponse(request, "admin/servicing/routingrule/test_routing.html", context)


class PaymentChannelForm(forms.ModelForm):
    class Meta:
        model = PaymentChannel
        fields = "__all__"
        widgets = {"callback_secret": forms.PasswordInput(render_value=True)}

    def clean_failure_rate_percent(self):
        rate = self.cleaned_data["failure_rate_percent"]
        if rate is not None and not Decimal("0") <= rate <= Decimal("100"):
            raise ValidationError(gettext("Enter a rate between 0 and 100."))
        return rate


@admin.register(PaymentChannel)
class PaymentChannelAdmin(admin.ModelAdmin):
    form = PaymentChannelForm
    list_display = ("code", "name", "provider", "latency_ms", "failure_rate_percent", "cost_per_transaction",
                    "confirm_timeout_seconds", "active")
    list_filter = ("provider", "active")


class DisbursementEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DisbursementEvent
    fields = ("at", "kind", "result", "duplicate", "payload")
    readonly_fields = fields
    extra = 0


@admin.register(Disbursement)
class DisbursementAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Written by the disbursement services only; every send, callback and query as an event."""

    list_display = ("reference", "drawdown", "amount", "status", "channel", "sent_at", "confirmed_at", "failure_code")
    list_filter = ("status", "channel")
    search_fields = ("reference", "drawdown__number", "channel_reference")
    list_select_related = ("drawdown", "channel")
    inlines = [DisbursementEventInline]


@admin.register(SandboxBankTransfer)
class SandboxBankTransferAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The sandbox bank's own book (docs/sandbox.md)."""

    list_display = ("reference", "amount", "account_suffix", "outcome", "calls_back", "received", "callback_sent_at",
                    "created_at")
    list_filter = ("outcome", "channel")
    search_fields = ("reference",)
