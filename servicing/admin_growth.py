"""Django admin of credit growth (额度动态调整): the per-product review policy (editable) and the
lines' reviews (read-only, written by the review)."""

from django.contrib import admin

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.organisations.scoping import BranchScopedAdminMixin

from .models import CreditGrowthPolicy, CreditLineReview


@admin.register(CreditGrowthPolicy)
class CreditGrowthPolicyAdmin(admin.ModelAdmin):
    list_display = ("product", "enabled", "cadence_months", "window_months", "increase_percent", "rate_step_points",
                    "late_action", "decrease_percent")
    list_filter = ("enabled", "late_action")


@admin.register(CreditLineReview)
class CreditLineReviewAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    branch_field = "credit_line__branch"
    list_display = ("credit_line", "business_date", "finding", "installments_due", "installments_late",
                    "max_days_past_due", "change", "note")
    list_filter = ("finding", "business_date")
    readonly_fields = ("credit_line", "business_date", "window_start", "finding", "installments_due",
                       "installments_late", "max_days_past_due", "change", "note")
