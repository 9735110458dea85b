"""Reads of credit applications and their flow: branch-scoped lists and search, the open tasks
of an application, its history, and the SLA dashboard figures."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from creditfactory.core.state import transitions_for
from creditfactory.organisations.scoping import scope_queryset
from risk.selectors import current_decision, identifier_indexes

from ..models import CreditApplication, TaskSla
from .drawdowns import drawdown_url
from .line_changes import line_url
from ..nodes import QueueView

__all__ = [
    "APPLICATION_DETAIL_URL", "application_current_node", "application_decision_summary", "application_detail_for",
    "application_history",
    "application_list_for", "application_open_human_task", "application_opinions", "application_review_opinion", "application_open_task", "application_open_tasks",
    "application_task_history",
    "application_tasks",
    "application_url", "search_filter", "sla_dashboard_for", "task_list_scope",
]

APPLICATION_DETAIL_URL = "origination:applications:detail"
OPEN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED, STATUS.SCHEDULED)
# Task types that are a place the application waits at (not gateways or boundary events).
WAITING_TYPES = ("HUMAN", "FUNCTION", "JOB")


def application_url(application_id: int) -> str:
    return reverse(APPLICATION_DETAIL_URL, args=[application_id])


def search_filter(term: str) -> Q:
    """Search: application number, a full ID number or mobile (through the blind index), a masked
    ID number or mobile exactly as displayed, or part of the applicant's name."""
    term = (term or "").strip()
    condition = Q(number__iexact=term) | Q(external_reference=term) if term else Q()
    if term and not any(char.isdigit() for char in term):
        condition |= Q(applicant__name__icontains=term)
    lookups = {"id_number": "applicant__id_number_index", "mobile": "applicant__mobile_index",
               "bank_account": "applicant__bank_account_index"}
    for kind, index in identifier_indexes(term).items():
        condition |= Q(**{lookups[kind]: index})
    if "*" in term:
        condition |= Q(applicant__id_number_masked=term) | Q(applicant__mobile_masked=term)
    return condition


def application_list_for(user, *, search: str = "", status: str = "") -> QuerySet:
    queryset = scope_queryset(CreditApplication.objects.all(), user).select_related(
        "applicant", "branch", "product_version__product", "partner")
    if search.strip():
        queryset = queryset.filter(search_filter(search))
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-created_at", "-id")


def application_detail_for(*, user, pk: int) -> CreditApplication:
    application = (scope_queryset(CreditApplication.objects.all(), user)
                   .select_related("applicant", "enterprise", "branch", "product_version__product", "partner",
                                   "created_by", "reviewed_by", "approved_by", "process")
                   .filter(pk=pk).first())
    if application is None:
        raise Http404
    return application


def application_tasks(application: CreditApplication) -> QuerySet:
    if not application.process_id:
        return Task.objects.none()
    return (Task.objects.filter(process_id=application.process_id).select_related("owner")
            .order_by("created", "id"))


def application_task_history(application: CreditApplication) -> QuerySet:
    """The tasks an officer reads as the application's history: without the boundary events
    (e.g. "Assessment failed") that were armed beside a job and disarmed when it succeeded."""
    return application_tasks(application).exclude(flow_task_type="EVENT", status=STATUS.CANCELED)


def application_open_tasks(application: CreditApplication) -> list:
    return [task for task in application_tasks(application).filter(status__in=OPEN, flow_task_type__in=WAITING_TYPES)]


def application_open_task(application: CreditApplication, *, node_type, name: str | None = None):
    """The newest open task (new, assigned or started) of the application's process whose node is
    a ``node_type`` (named ``name``, when given), or None."""
    if not application.process_id:
        return None
    for task in application.process.task_set.filter(
            status__in=(STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)).order_by("-created", "-id"):
        node = task.flow_task
        if isinstance(node, node_type) and (name is None or node.name == name):
            return task
    return None


def application_open_human_task(application: CreditApplication):
    for task in application_open_tasks(application):
        if isinstance(task.flow_task, QueueView):
            return task
    return None


def application_current_node(application: CreditApplication) -> str:
    """The node the application waits at (e.g. ``review``, ``contract``), or ``""`` when none:
    the latest of its open tasks (one column of one row: webhooks ask this on every event)."""
    if not application.process_id:
        return ""
    flow_task = (Task.objects.filter(process_id=application.process_id, status__in=OPEN,
                                     flow_task_type__in=WAITING_TYPES)
                 .order_by("-created", "-id").values_list("flow_task", flat=True).first())
    return flow_task.name if flow_task is not None else ""


def application_decision_summary(application: CreditApplication, *, language: str) -> dict | None:
    """The current automated decision as the applicant may see it: outcome and customer-facing
    reasons in ``language`` (no scores, rules or data)."""
    decision = current_decision(application_id=application.pk)
    if decision is None:
        return None
    return {"outcome": decision.outcome, "reasons": decision.customer_reasons(language)}


def application_history(application: CreditApplication) -> list:
    return list(transitions_for(application).select_related("content_type", "actor").order_by("at", "id"))


def application_opinions(application: CreditApplication) -> list[dict]:
    """The staff decisions on the application (review, approval), oldest first, as recorded by
    ``flow_steps.record_action``: node, action, who, when, the opinion or reason and the
    conditions. The approver reads the reviewer's here and on the approval task."""
    actions = ((application.process.data or {}).get("actions") or []) if application.process_id else []
    users = get_user_model().objects.in_bulk({a.get("by") for a in actions if a.get("by")})
    return [{
        "node": action.get("node", ""), "action": action.get("action", ""), "by": users.get(action.get("by")),
        "at": parse_datetime(action["at"]) if action.get("at") else None, "reason": action.get("reason", ""),
        "conditions": action.get("conditions", ""), "request_approval": bool(action.get("request_approval")),
    } for action in actions]


def application_review_opinion(application: CreditApplication) -> dict | None:
    """The reviewer's latest opinion, or None when nobody has reviewed the application yet."""
    reviews = [opinion for opinion in application_opinions(application) if opinion["node"] == "review"]
    return reviews[-1] if reviews else None


def task_list_scope(queryset: QuerySet, user) -> QuerySet:
    """Tasks of the credit flow restricted to applications of the user's branches."""
    return scope_queryset(queryset, user, branch_field="process__credit_application__branch")


def sla_dashboard_for(user, *, now=None) -> dict:
    """Open tasks with a deadline, per work group and node: how many are open, overdue, escalated."""
    now = now or timezone.now()
    open_slas = scope_queryset(TaskSla.objects.filter(task__status__in=OPEN), user, branch_field="branch")
    rows = (open_slas.values("work_group__name", "node")
            .annotate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lte=now)),
                      escalated=Count("id", filter=Q(escalated_at__isnull=False)))
            .order_by("work_group__name", "node"))
    overdue = (open_slas.filter(due_at__lte=now).select_related("application", "drawdown", "line_change", "work_group", "task__owner",
                                                                "escalated_to")
               .order_by("due_at"))
    overdue_rows = list(overdue[:200])
    for sla in overdue_rows:
        sla.subject_url = sla_subject_url(sla)
    return {"rows": list(rows), "overdue": overdue_rows, "overdue_count": overdue.count(), "now": now}


def sla_subject_url(sla: TaskSla) -> str:
    """The back-office page of what the task is about: the application, the drawdown, or the
    line whose change it approves."""
    if sla.application_id:
        return application_url(sla.application_id)
    if sla.drawdown_id:
        return drawdown_url(sla.drawdown_id)
    return line_url(sla.line_change.credit_line_id)
