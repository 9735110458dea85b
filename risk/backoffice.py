"""Back-office pages of the risk app: the decisions a member of staff may see (branch-scoped)
and the explanation of one decision — outcome, grade, score breakdown, each rule with its result
and reason, what each data source answered (masked) and what the data cost."""

from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import get_language, gettext_lazy as _
from django.views import View
from django.views.generic import DetailView, ListView
from viewflow.urls import AppMenuMixin, Viewset

from . import selectors
from .engine import STEP_LABELS
from .models import DecisionOutcome, InLoanCheck
from .models.decisions import pick_language
from .models.datasources import Source
from .rules import RuleOutcome, Stage, WarningAction

VIEW_PERMISSION = "risk.view_decision"


class DecisionListView(LoginRequiredMixin, PermissionRequiredMixin, ListView):
    permission_required = VIEW_PERMISSION
    template_name = "risk/decision_list.html"
    context_object_name = "decisions"
    paginate_by = 50

    def get_queryset(self):
        queryset = selectors.decision_list_for(self.request.user)
        outcome = self.request.GET.get("outcome", "")
        if outcome in DecisionOutcome.values:
            queryset = queryset.filter(outcome=outcome)
        return queryset

    def get_context_data(self, **kwargs):
        return super().get_context_data(outcomes=DecisionOutcome.choices,
                                         outcome=self.request.GET.get("outcome", ""), **kwargs)


def _stage_groups(rule_results: list[dict]) -> list[dict]:
    groups: dict[str, dict] = {}
    for result in rule_results:
        group = groups.setdefault(result["stage"], {"stage": result["stage"],
                                                    "label": STEP_LABELS.get(result["stage"], result["stage"]),
                                                    "results": []})
        group["results"].append(result)
    return list(groups.values())


class DecisionDetailView(LoginRequiredMixin, PermissionRequiredMixin, DetailView):
    permission_required = VIEW_PERMISSION
    template_name = "risk/decision_detail.html"
    context_object_name = "decision"

    def get_object(self, queryset=None):
        return selectors.decision_detail_for(user=self.request.user, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        decision = self.object
        language = get_language() or ""
        reasons = [{**reason, "stage_label": STEP_LABELS.get(reason["stage"], reason["stage"]),
                    "customer_text": pick_language(reason.get("customer_reason") or {}, language)}
                   for reason in decision.reasons]
        sources = [{**source, "summary_items": sorted((source.get("summary") or {}).items())}
                   for source in (decision.snapshot.get("sources") or {}).values()]
        shadow = decision.shadow["result"] if decision.shadow else None
        return super().get_context_data(
            reasons=reasons,
            customer_reasons=decision.customer_reasons(language),
            stages=_stage_groups(decision.rule_results),
            steps=[{**step, "label": STEP_LABELS.get(step["step"], step["step"])} for step in decision.steps],
            sources=sources,
            shadow=shadow,
            shadow_versions=decision.shadow["versions"] if decision.shadow else None,
            history=selectors.decision_history_for(user=self.request.user, application_id=decision.application_id),
            **kwargs,
        )


class ApplicationDecisionView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """The current decision of an application: the page other pages (the application, the
    review task) link to."""

    permission_required = VIEW_PERMISSION

    def get(self, request, application_id):
        history = selectors.decision_history_for(user=request.user, application_id=application_id)
        decision = history.filter(status="current").first()
        if decision is None:
            raise Http404
        return redirect(reverse(f"{request.resolver_match.namespace}:detail", args=[decision.pk]))


RULE_STATUS_LABELS = {
    "matched": _("fired"),
    "not_matched": _("passed"),
    "not_evaluated": _("not evaluated (source unavailable)"),
    "error": _("error"),
}


class InLoanCheckDetailView(LoginRequiredMixin, PermissionRequiredMixin, DetailView):
    """One in-loan check (贷中审核 / 预警): what it concluded, why, each rule, the refreshed data and
    its cost. Servicing pages link here by the check's reference."""

    permission_required = VIEW_PERMISSION
    template_name = "risk/inloan_check_detail.html"
    context_object_name = "check"

    def get_object(self, queryset=None):
        return get_object_or_404(InLoanCheck.objects.select_related("product", "applicant"),
                                 reference=self.kwargs["reference"])

    def get_context_data(self, **kwargs):
        check = self.object
        language = get_language() or ""
        outcomes = dict(RuleOutcome.choices)
        reasons = [{"code": reason["code"],
                    "outcome": outcomes.get(reason["outcome"], reason["outcome"]),
                    "description": reason.get("description", ""),
                    "customer_text": pick_language(reason.get("customer_reason") or {}, language),
                    "action": WarningAction(reason["params"]["warning_action"]).label
                    if (reason.get("params") or {}).get("warning_action") in WarningAction.values else ""}
                   for reason in check.reasons]
        rules = [{**result, "status_label": RULE_STATUS_LABELS.get(result["status"], result["status"]),
                  "outcome_label": outcomes.get(result["outcome"], result["outcome"])}
                 for result in check.rule_results]
        source_labels = dict(Source.choices)
        sources = [{**source, "label": source_labels.get(source["source"], source["source"]),
                    "summary_items": sorted((source.get("summary") or {}).items())}
                   for source in (check.snapshot.get("sources") or {}).values()]
        stage = Stage.IN_LOAN_DRAWDOWN if check.kind == "drawdown" else Stage.IN_LOAN_WARNING
        return super().get_context_data(reasons=reasons, rules=rules, sources=sources, stage_label=stage.label,
                                        **kwargs)


class DecisionViewset(AppMenuMixin, Viewset):
    title = _("Risk decisions")
    icon = "gavel"
    app_name = "decisions"
    index_path = path("", DecisionListView.as_view(), name="index")
    detail_path = path("<int:pk>/", DecisionDetailView.as_view(), name="detail")
    application_path = path("application/<int:application_id>/", ApplicationDecisionView.as_view(),
                            name="application")
    in_loan_check_path = path("in-loan/<str:reference>/", InLoanCheckDetailView.as_view(), name="in_loan_check")

    def has_view_permission(self, user, obj=None):
        return user.has_perm(VIEW_PERMISSION)
