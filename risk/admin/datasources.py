"""Admin: data-source configuration (editable: provider, timeout, retries, cache, cost, sandbox
latency and failure rate) and the call log (read-only, with cost)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from risk.models import DataSourceCall, DataSourceConfig
from risk.selectors import identifier_indexes



@admin.register(DataSourceConfig)
class DataSourceConfigAdmin(admin.ModelAdmin):
    list_display = ("source", "provider", "timeout_ms", "retries", "cache_days", "cost_per_call", "sandbox_latency_ms",
                    "sandbox_failure_rate", "updated_at")
    fieldsets = (
        (None, {"fields": ("source", "provider")}),
        (_("Calls"), {"fields": ("timeout_ms", "retries", "cache_days", "cost_per_call")}),
        (_("Sandbox simulation"), {"fields": ("sandbox_latency_ms", "sandbox_failure_rate")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return ("source",) if obj else ()


@admin.register(DataSourceCall)
class DataSourceCallAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "source", "provider", "status", "applicant", "application", "attempts", "latency_ms",
                    "cost", "cached_from_id")
    list_filter = ("source", "status", "provider")
    list_select_related = ("applicant", "application")
    search_fields = ("application__number",)
    search_help_text = _("Application number, or the applicant's exact ID number or mobile.")
    date_hierarchy = "created_at"
    fields = ("created_at", "source", "provider", "status", "applicant", "application", "attempts", "latency_ms",
              "cost", "cached_from", "result", "error")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        indexes = identifier_indexes(search_term)
        if "id_number" in indexes:
            return queryset.filter(applicant__id_number_index=indexes["id_number"]), False
        if "mobile" in indexes:
            return queryset.filter(applicant__mobile_index=indexes["mobile"]), False
        return super().get_search_results(request, queryset, search_term)
