"""Admin: the in-loan checks (贷中审核 / 预警), read-only: what was checked, the outcome or the
warning's handling, the reasons as texts in the reader's language, each rule's result, the
refreshed data (masked) with its cost, and the rule set versions."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from risk.models import InLoanCheck
from risk.services.inloan import check_reasons

from .versioning import pretty_json


@admin.register(InLoanCheck)
class InLoanCheckAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("reference", "kind", "product", "applicant", "outcome", "hit", "action", "data_cost",
                    "created_at")
    list_filter = ("kind", "outcome", "hit", "action", "product")
    search_fields = ("reference", "subject_reference")
    list_select_related = ("product", "applicant")
    date_hierarchy = "created_at"
    fieldsets = (
        (None, {"fields": ("reference", "kind", "subject_reference", "applicant", "product", "product_version",
                           "credit_line_id", "amount", "created_at")}),
        (_("Outcome"), {"fields": ("outcome", "hit", "action", "reasons_list", "data_cost",
                                   "unavailable_sources")}),
        (_("Explanation"), {"fields": ("rule_results_pretty", "versions_pretty", "snapshot_pretty")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    @admin.display(description=_("reasons"))
    def reasons_list(self, obj):
        texts = check_reasons(check=obj)
        if not texts:
            return "—"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((text,) for text in texts)))

    rule_results_pretty = admin.display(description=_("rule results"))(lambda self, obj: pretty_json(obj.rule_results))
    versions_pretty = admin.display(description=_("rule set versions"))(lambda self, obj: pretty_json(obj.versions))
    snapshot_pretty = admin.display(description=_("data (masked)"))(lambda self, obj: pretty_json(obj.snapshot))
