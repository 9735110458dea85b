"""Admin of credit applications: read-only, identifiers masked, branch-scoped; the state log and
documents on the page; the audit rows of PII reveals."""

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.core.display import mask_name, transition_display
from creditfactory.core.state import transitions_for
from creditfactory.organisations.scoping import BranchScopedAdminMixin

from ..models import ApplicationDocument, CreditApplication, PiiReveal


class ApplicationDocumentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApplicationDocument
    extra = 0
    fields = ("kind", "name", "content_type", "size", "sha256", "uploaded_by", "uploaded_by_label", "created_at")
    readonly_fields = fields


@admin.register(CreditApplication)
class CreditApplicationAdmin(ReadOnlyAdminMixin, BranchScopedAdminMixin, admin.ModelAdmin):
    list_display = ("number", "applicant_masked", "product_version", "amount", "term", "status", "channel", "partner",
                    "branch", "created_at")
    list_filter = ("status", "channel", "product_version__product", "branch")
    search_fields = ("number", "external_reference")
    list_select_related = ("applicant", "product_version__product", "partner", "branch")
    date_hierarchy = "created_at"
    inlines = [ApplicationDocumentInline]
    exclude = ("device_id",)
    readonly_fields = ("applicant_masked", "state_log")

    @admin.display(description=_("applicant"))
    def applicant_masked(self, obj):
        return f"{mask_name(obj.applicant.name)} ({obj.applicant.id_number_masked}, {obj.applicant.mobile_masked})"

    @admin.display(description=_("state log"))
    def state_log(self, obj):
        return format_html_join(
            "", "<div>{at} · {field}: {from_state} → {to_state} · {actor} · {reason}</div>",
            (transition_display(t) for t in transitions_for(obj).select_related("content_type", "actor")
             .order_by("at", "id")),
        )


@admin.register(PiiReveal)
class PiiRevealAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "user", "application", "field", "reason", "ip_address")
    list_filter = ("field",)
    search_fields = ("application__number", "user__username")
    list_select_related = ("user", "application")
    date_hierarchy = "at"
