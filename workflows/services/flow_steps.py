"""The steps the credit flow's nodes take, called from ``workflows.flows`` under the process lock.

Each step keeps ``CreditApplication.status`` in step with the flow through ``change_state`` (so
every move is logged), writes what later nodes decide on into ``process.data`` and emits the
partner's webhook events in the same transaction. ``process.data`` holds:

* ``application_id``, ``number``, ``amount``;
* ``config`` — the node configuration snapshot taken at start;
* ``decision`` — the automated decision the route was taken on;
* ``actions`` — every human decision: ``{"node", "action", "by", "at", "reason", ...}``;
* ``returned_from`` — the node that asked for documents last.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from creditfactory.core.rows import RowReader, RowWriter, save_fields
from creditfactory.core.state import change_state, change_state_where
from creditfactory.organisations.models import WorkGroup

from ..locks import round_cached
from ..models import APPLICATION_MACHINE, ApplicationStatus, CreditApplication, TaskSla
from .configuration import node_config_snapshot

S = ApplicationStatus

__all__ = [
    "application_payload", "decision_outcome", "dispatch_assignee", "emit", "four_eyes_excluded",
    "is_straight_through", "last_action", "lock_application", "move", "needs_approval", "node_enabled",
    "record_action", "set_actor", "snapshot_work_group", "step_approve", "step_assess", "step_assessment_done",
    "step_assessment_failed", "step_assessment_started", "step_documents_requested", "step_grant", "step_reject",
    "step_start", "step_task_created", "task_redirect",
]


# --- helpers ---------------------------------------------------------------------------------------


# A row for most applications (the review task's SLA): built once per process (core.rows).
_SLAS = RowWriter(TaskSla)
# The locked application (its row alone: FOR UPDATE OF) with what the steps read of it: its product
# version and partner, and the product, whose code is what a webhook names it by. A node's work group.
_LOCKED_APPLICATION = RowReader(CreditApplication, related=("product_version__product", "partner"), lock=True)
_WORK_GROUPS = RowReader(WorkGroup)


def save_process_data(process) -> None:
    """``process.save(update_fields=["data"])``, the statement built once per process (the steps
    save the process's data on most moves)."""
    save_fields(process, ("data",))


def lock_application(application_id: int) -> CreditApplication:
    """The application's row, locked, with its product version, product and partner. Under the
    process lock the row is read once per locked round (``workflows.locks.round_cached``): every
    later step of the round gets the same instance, which holds the round's own changes. Outside a
    round it is read afresh every time."""

    def load():
        application = _LOCKED_APPLICATION.get(application_id)
        if application is None:
            raise CreditApplication.DoesNotExist(f"No credit application {application_id}.")
        application.product_code = application.product_version.product.code
        return application

    return round_cached(("application", application_id), load)


def _application(process) -> CreditApplication:
    return lock_application(process.data["application_id"])


def set_actor(process, *, actor=None, actor_label: str = "") -> None:
    """Who is moving the process now (a user, a partner label or the system): the steps that
    follow record it on every state change. Not saved on its own: the caller saves ``data``."""
    user_id = getattr(actor, "pk", None)
    process.data["actor"] = {"id": user_id, "label": "" if user_id else (actor_label or "system")}


def _actor(process) -> tuple:
    current = (process.data or {}).get("actor") or {}
    user = _user(current["id"]) if current.get("id") else None
    return user, current.get("label") or ("" if user else "system")


def _user(user_id: int):
    """The user ``user_id`` (or None), read once per locked round."""
    from django.contrib.auth import get_user_model

    return round_cached(("user", user_id), lambda: get_user_model().objects.filter(pk=user_id).first())


def move(application: CreditApplication, to_state: str, *, actor=None, actor_label: str = "", reason: str = "",
         extra_update_fields=(), process=None) -> None:
    """``change_state`` with the application's machine; a move to the current state is a no-op.
    With ``process``, the actor is the one the process was last moved by (``set_actor``)."""
    if process is not None:
        actor, actor_label = _actor(process)
    if application.status == to_state:
        if extra_update_fields:
            save_fields(application, [*extra_update_fields, "updated_at"])
        return
    user = actor if getattr(actor, "pk", None) else None
    change_state(application, to_state=to_state, machine=APPLICATION_MACHINE, actor=user,
                 actor_label="" if user else (actor_label or "system"), reason=reason,
                 extra_update_fields=extra_update_fields)


def application_payload(application: CreditApplication, *, at_node: str | None = None, **extra) -> dict:
    """What a partner's webhook says about an application (no personal data). ``at_node``: the
    node the application waits at, when the caller knows it (else it is read)."""
    from ..selectors.applications import application_current_node

    # lock_application annotates the product's code; elsewhere the (cached) version has it.
    product = getattr(application, "product_code", None) or application.product_version.code
    return {
        "application": {
            "id": application.pk, "number": application.number, "status": application.status,
            "external_reference": application.external_reference, "product": product,
            "amount": f"{application.amount:.2f}",
            "current_node": application_current_node(application) if at_node is None else at_node,
        },
        **extra,
    }


def emit(application: CreditApplication, event: str, *, at_node: str | None = None, **extra) -> None:
    """Tell the application's partner, inside the caller's transaction (no partner: nothing)."""
    if not application.partner_id:
        return
    from creditfactory.core.api.webhooks import webhook_emit

    from creditfactory.organisations.models import Partner

    # Only the partner's id is needed: no query when the partner is not loaded.
    partner = (application.partner if CreditApplication.partner.is_cached(application)
               else Partner(pk=application.partner_id))
    webhook_emit(partner=partner, event=event, payload=application_payload(application, at_node=at_node, **extra))


def _config(process) -> dict:
    return (process.data or {}).get("config") or {}


def node_config(process, node: str) -> dict:
    return _config(process).get("nodes", {}).get(node) or {}


def node_enabled(process, node: str) -> bool:
    return bool(node_config(process, node).get("enabled"))


def snapshot_work_group(process, node: str) -> WorkGroup | None:
    """The work group of ``node`` in the process's snapshot, read once per locked round (a new
    task reads it for its queue permission and again to dispatch)."""
    work_group_id = node_config(process, node).get("work_group")
    if not work_group_id:
        return None
    return round_cached(("work_group", work_group_id), lambda: _WORK_GROUPS.get(work_group_id))


def _decimal(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def decision_outcome(process) -> str | None:
    return ((process.data or {}).get("decision") or {}).get("outcome")


def is_straight_through(process) -> bool:
    """Approve without a human: the decision approves, the product allows it, within the ceiling."""
    flow_settings = _config(process).get("settings") or {}
    ceiling = _decimal(flow_settings.get("auto_approval_ceiling"))
    return (decision_outcome(process) == "approve" and bool(flow_settings.get("auto_approval_enabled"))
            and ceiling is not None and Decimal(process.data["amount"]) <= ceiling)


def _actions(process, node: str | None = None) -> list[dict]:
    actions = (process.data or {}).get("actions") or []
    return [a for a in actions if node is None or a["node"] == node]


def last_action(process, node: str) -> str | None:
    actions = _actions(process, node)
    return actions[-1]["action"] if actions else None


def needs_approval(process) -> bool:
    """After a review approve: the approval node is on and the amount is above the threshold (or
    there is no threshold), or the reviewer asked for an approver."""
    if not node_enabled(process, "approval"):
        return False
    reviews = _actions(process, "review")
    if reviews and reviews[-1].get("request_approval"):
        return True
    threshold = _decimal((_config(process).get("settings") or {}).get("approval_threshold"))
    return threshold is None or Decimal(process.data["amount"]) > threshold


def record_action(process, *, node: str, action: str, actor, reason: str = "", **extra) -> None:
    """Append a human decision to ``process.data`` (saved)."""
    data = process.data or {}
    data.setdefault("actions", []).append({
        "node": node, "action": action, "by": actor.pk, "at": timezone.now().isoformat(), "reason": reason, **extra,
    })
    process.data = data
    set_actor(process, actor=actor)
    save_process_data(process)


def four_eyes_excluded(process) -> set[int]:
    """Users who may not approve: whoever entered the application and whoever reviewed it."""
    from ..flows import CreditApplicationFlow
    from viewflow.workflow.status import STATUS

    excluded = set()
    created_by = CreditApplication.objects.filter(process_id=process.pk).values_list("created_by_id", flat=True).first()
    if created_by:
        excluded.add(created_by)
    excluded |= set(
        process.task_set.filter(flow_task=CreditApplicationFlow.review, status=STATUS.DONE, owner__isnull=False)
        .values_list("owner_id", flat=True)
    )
    excluded |= {a["by"] for a in _actions(process, "review")}
    return excluded


def dispatch_assignee(activation, node: str):
    """Who gets a new human task: the node's fixed assignee, else the work group's policy
    (claim → nobody, the task waits in the queue). Four-eyes exclusions are never chosen."""
    from django.contrib.auth import get_user_model

    from .dispatch import dispatch_pick

    process = activation.process
    excluded = four_eyes_excluded(process) if node == "approval" else set()
    work_group = snapshot_work_group(process, node)
    assignee_id = node_config(process, node).get("assignee")
    if assignee_id and assignee_id not in excluded:
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is not None:
            return assignee
    if work_group is None:
        return None
    return dispatch_pick(work_group, excluded=excluded)


def task_redirect(request):
    """A human task's page in viewflow's frontend opens the application's workbench page."""
    from django.http import HttpResponseRedirect

    from ..selectors.applications import application_url

    return HttpResponseRedirect(application_url(request.activation.process.data["application_id"]))


# --- the steps -------------------------------------------------------------------------------------


def step_start(activation, *, application: CreditApplication, actor=None, actor_label: str = "") -> None:
    process = activation.process
    process.data = {
        "application_id": application.pk, "number": application.number, "amount": f"{application.amount:.2f}",
        "config": node_config_snapshot(application.product_version.product), "actions": [],
    }
    set_actor(process, actor=actor, actor_label=actor_label)
    process.artifact = application
    if getattr(actor, "pk", None):
        activation.task.owner = actor


def step_assessment_started(activation) -> None:
    # From here the system moves the process. That is recorded in the process's data by the step
    # that follows the computation (step_assessment_done, which saves the data anyway, or
    # step_assessment_failed): nothing reads it in between, so the start writes no process data.
    # Nor does it read the application: a conditional UPDATE locks and moves the row (when it is
    # still submitted) in one statement, logged as every move.
    change_state_where(CreditApplication, activation.process.data["application_id"], from_state=S.SUBMITTED,
                       to_state=S.ASSESSING, machine=APPLICATION_MACHINE, actor_label="system",
                       reason=_("Automated risk assessment started."))


def step_assess(activation, *, attempt: int) -> dict:
    """Runs on the worker without the process lock: gather data and decide. The result carries
    what ``step_assessment_done`` records, so applying it reads nothing more."""
    from risk.features import DataSourceUnavailable
    from risk.services.decisions import assess_application, retry_countdown

    from ..nodes import JobRetry
    from ..selectors.assessment import assessment_request_for

    request = assessment_request_for(application_id=activation.process.data["application_id"])
    try:
        decision = assess_application(request=request, attempt=attempt,
                                      max_attempts=settings.RISK_DECISION_MAX_ATTEMPTS)
    except DataSourceUnavailable as exc:  # retryable, attempts left: back off
        raise JobRetry(countdown=retry_countdown(attempt), attempt=attempt + 1, reason=str(exc)) from exc
    return {"decision_id": decision.pk, "decision": _decision_summary(decision),
            "customer_reasons": decision.customer_reasons(settings.LANGUAGE_CODE)}


def _decision_summary(decision) -> dict:
    """What ``process.data["decision"]`` keeps of the decision the route is taken on. A decision
    just written holds the engine's values: they are rounded as their columns store them (PostgreSQL
    rounds half away from zero), so the summary reads exactly as if the row had been loaded."""
    def stored(name):
        value = getattr(decision, name)
        if value is None:
            return None
        places = decision._meta.get_field(name).decimal_places
        return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)

    limit, rate = stored("limit"), stored("rate_percent")
    return {
        "id": decision.pk, "outcome": decision.outcome, "grade": decision.grade,
        "limit": None if limit is None else f"{limit:.2f}",
        "rate_percent": None if rate is None else str(rate),
        "reasons": [reason.get("code") for reason in decision.reasons],
    }


def step_assessment_done(activation, result: dict) -> None:
    process = activation.process
    if "decision" in result:
        summary, customer_reasons = result["decision"], result["customer_reasons"]
    else:  # a result from before summaries were passed along
        from risk.models import Decision

        decision = Decision.objects.get(pk=result["decision_id"])
        summary, customer_reasons = _decision_summary(decision), decision.customer_reasons(settings.LANGUAGE_CODE)
    process.data["decision"] = summary
    set_actor(process, actor_label="system")
    save_process_data(process)
    application = _application(process)
    application.decided_at = timezone.now()
    save_fields(application, ["decided_at", "updated_at"])
    # The job's own task is the one open place the application waits at (the flow has one token).
    emit(application, "application.decided", at_node=activation.flow_task.name,
         decision={"outcome": summary["outcome"], "reasons": customer_reasons})


def step_assessment_failed(activation) -> None:
    """The assessment failed: the review it is routed to is created by the system."""
    process = activation.process
    set_actor(process, actor_label="system")
    save_process_data(process)


_ENTERING = {
    "review": (S.IN_REVIEW, gettext_lazy("Referred to manual review.")),
    "approval": (S.IN_APPROVAL, gettext_lazy("Sent to approval.")),
    "signing": (S.SIGNING, gettext_lazy("Waiting for remote signing.")),
    "contract": (S.CONTRACT, gettext_lazy("Contract ready for the applicant to accept.")),
}


def step_task_created(activation, node: str) -> None:
    """A task of a configured node was created: move the application, start the SLA clock."""
    process, task = activation.process, activation.task
    application = _application(process)
    to_state, reason = _ENTERING[node]
    reason = str(reason)
    if application.status == S.RETURNED:
        reason = _("Documents received: back to %(node)s.") % {"node": node}
    elif node == "review" and decision_outcome(process) is None:
        reason = _("The automated assessment failed: manual review.")
    move(application, to_state, reason=reason, process=process)
    if task.owner_id and task.assigned is None:
        task.assigned = timezone.now()
        task.save(update_fields=["assigned"])
    config = node_config(process, node)
    if config.get("sla_hours"):
        _SLAS.insert(TaskSla(
            task_id=task.pk, application=application, node=node, work_group_id=config.get("work_group"),
            sla_hours=config["sla_hours"], due_at=task.created + timedelta(hours=config["sla_hours"]),
        ))
    if node == "contract":
        emit(application, "contract.ready")


def step_documents_requested(activation) -> None:
    process = activation.process
    application = _application(process)
    node = process.data.get("returned_from") or "review"
    request = _actions(process, node)[-1]
    move(application, S.RETURNED, reason=request.get("reason", ""), process=process)
    emit(application, "application.returned", reason=request.get("reason", ""),
         documents=request.get("documents") or [])


def step_approve(activation) -> None:
    process = activation.process
    application = _application(process)
    human = [a for a in _actions(process) if a["action"] == "approve"]
    if human:
        mode, approver_id = human[-1]["node"], human[-1]["by"]
    else:
        mode, approver_id = "straight_through", None
    process.data["approved"] = {"mode": mode, "by": approver_id, "at": timezone.now().isoformat()}
    save_process_data(process)
    application.approved_by_id, application.approved_at = approver_id, timezone.now()
    application.approval_mode = mode
    save_fields(application, ["approved_by", "approved_at", "approval_mode", "updated_at"])
    emit(application, "application.approved", approval=mode)


def step_grant(activation) -> None:
    from risk.models import Decision, DecisionStatus
    from servicing.services import credit_line_grant

    process = activation.process
    application = _application(process)
    decision = Decision.objects.filter(application=application, status=DecisionStatus.CURRENT).first()
    actor, actor_label = _actor(process)
    line = credit_line_grant(application=application, decision=decision, actor=actor, actor_label=actor_label)
    application.closed_at = timezone.now()
    move(application, S.APPROVED, reason=_("Credit line %(line)s granted.") % {"line": line.pk},
         extra_update_fields=("closed_at",), process=process)
    emit(application, "line.granted", line={
        "id": line.pk, "limit": f"{line.limit:.2f}", "rate_percent": str(line.rate_percent),
        "rate_basis": line.rate_basis, "grade": line.grade, "valid_until": line.valid_until.isoformat(),
    })


def _rejection_reasons(process, application) -> tuple[str, list[str]]:
    """(why, for the log; what the customer is told)."""
    from risk.models import Decision, DecisionStatus

    rejections = [a for a in _actions(process) if a["action"] == "reject"]
    if rejections:
        return rejections[-1]["reason"], [rejections[-1].get("customer_reason") or _("Overall assessment not passed.")]
    decision = Decision.objects.filter(application=application, status=DecisionStatus.CURRENT).first()
    if decision is None:
        return _("Rejected."), []
    codes = ", ".join(reason.get("code", "") for reason in decision.reasons if reason.get("outcome") == "reject")
    return (_("Risk decision: reject (%(codes)s).") % {"codes": codes or "—"},
            decision.customer_reasons(settings.LANGUAGE_CODE))


def step_reject(activation) -> None:
    process = activation.process
    application = _application(process)
    why, customer_reasons = _rejection_reasons(process, application)
    application.closed_at = timezone.now()
    move(application, S.REJECTED, reason=why, extra_update_fields=("closed_at",), process=process)
    emit(application, "application.rejected", reasons=customer_reasons)
