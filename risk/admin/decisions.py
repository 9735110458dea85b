"""Admin: risk policies per product (with the champion/challenger report) and the decisions,
read-only, branch-scoped and without any unmasked identifier (the snapshot holds features and
the sources' masked summaries only). A decision can be replayed from here."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from creditfactory.core.admin_mixins import ReadOnlyAdminMixin
from creditfactory.organisations.scoping import BranchScopedAdminMixin
from risk.models import Decision, RiskPolicy
from risk.selectors import challenger_report
from risk.services.decisions import decision_replay

from .versioning import pretty_json


@admin.register(RiskPolicy)
class RiskPolicyAdmin(SimpleHistoryAdmin):
    list_display = ("product", "active", "scorecard", "limit_strategy", "pricing_strategy", "challenger",
                    "report_link")
    list_filter = ("active",)
    list_select_related = ("product", "scorecard", "limit_strategy", "pricing_strategy", "challenger_scorecard")
    filter_horizontal = ("rule_sets", "challenger_rule_sets")
    fieldsets = (
        (None, {"fields": ("product", "active", "notes")}),
        (_("Champion"), {"fields": ("rule_sets", "scorecard", "limit_strategy", "pricing_strategy")}),
        (_("Challenger (evaluated in shadow)"), {
            "fields": ("challenger_rule_sets", "challenger_scorecard"),
            "description": _("The challenger's rule sets replace the champion's of the same stage; its scorecard "
                             "replaces the champion's. Its outcome is stored beside the real one and never used."),
        }),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("challenger_rule_sets")

    @admin.display(description=_("challenger"), boolean=True)
    def challenger(self, obj):
        return bool(obj.challenger_scorecard_id) or bool(obj.challenger_rule_sets.all())

    @admin.display(description=_("report"))
    def report_link(self, obj):
        url = reverse("admin:risk_riskpolicy_challenger_report") + f"?policy={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, gettext("champion/challenger"))

    def get_urls(self):
        return [path("challenger-report/", self.admin_site.admin_view(self.report_view),
                     name="risk_riskpolicy_challenger_report"), *super().get_urls()]

    def report_view(self, request):
        if not request.user.has_perm("risk.view_decision"):
            raise PermissionDenied
        policy = request.GET.get("policy")
        rows = challenger_report(policy_id=int(policy) if policy and policy.isdigit() else None)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "rows": rows,
                   "title": gettext("Champion/challenger report")}
        return TemplateResponse(request, "risk/admin/challenger_report.html", context)


@admin.register(Decision)
class DecisionAdmin(BranchScopedAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    branch_field = "application__branch"
    list_display = ("application", "sequence", "status", "outcome", "grade", "score", "limit", "rate_percent",
                    "shadow_outcome", "data_cost", "created_at")
    list_filter = ("outcome", "status", "grade", "shadow_outcome", "policy")
    search_fields = ("application__number",)
    list_select_related = ("application",)
    date_hierarchy = "created_at"
    actions = ["replay_selected"]
    fieldsets = (
        (None, {"fields": ("application", "sequence", "status", "superseded_by", "note", "policy", "product_version",
                           "created_at", "actor", "actor_label")}),
        (_("Outcome"), {"fields": ("outcome", "grade", "score", "limit", "rate_percent", "rate_basis", "apr_percent",
                                   "data_cost", "tolerated_failures", "unavailable_sources")}),
        (_("Explanation"), {"fields": ("reasons_pretty", "rule_results_pretty", "score_breakdown_pretty",
                                       "details_pretty", "steps_pretty")}),
        (_("Inputs and versions"), {"fields": ("request_pretty", "versions_pretty", "snapshot_pretty")}),
        (_("Challenger (shadow)"), {"fields": ("shadow_outcome", "shadow_grade", "shadow_pretty")}),
    )

    def get_readonly_fields(self, request, obj=None):
        return [name for fieldset in self.fieldsets for name in fieldset[1]["fields"]]

    @admin.action(description=_("Replay selected decisions from their stored inputs and versions"),
                  permissions=["view"])
    def replay_selected(self, request, queryset):
        for decision in queryset.select_related("product_version", "scorecard_version", "limit_strategy_version",
                                                "pricing_strategy_version", "application"):
            result = decision_replay(decision)
            if result.matches:
                self.message_user(request, _("%(decision)s: replay reproduces the decision.") % {"decision": decision})
            else:
                self.message_user(request, _("%(decision)s: replay differs in %(parts)s.")
                                  % {"decision": decision, "parts": ", ".join(result.differences) or "shadow"},
                                  messages.ERROR)

    reasons_pretty = admin.display(description=_("reasons"))(lambda self, obj: pretty_json(obj.reasons))
    rule_results_pretty = admin.display(description=_("rule results"))(lambda self, obj: pretty_json(obj.rule_results))
    score_breakdown_pretty = admin.display(description=_("score breakdown"))(
        lambda self, obj: pretty_json(obj.score_breakdown))
    details_pretty = admin.display(description=_("limit and pricing"))(lambda self, obj: pretty_json(obj.details))
    steps_pretty = admin.display(description=_("steps"))(lambda self, obj: pretty_json(obj.steps))
    request_pretty = admin.display(description=_("loan request"))(lambda self, obj: pretty_json(obj.request))
    versions_pretty = admin.display(description=_("versions used"))(lambda self, obj: pretty_json(obj.versions))
    snapshot_pretty = admin.display(description=_("feature snapshot (masked)"))(
        lambda self, obj: pretty_json(obj.snapshot))
    shadow_pretty = admin.display(description=_("challenger result"))(lambda self, obj: pretty_json(obj.shadow))
