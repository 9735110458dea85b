"""The steps the credit flow's nodes take, called from ``workflows.flows`` under the process lock:
what changes state. What the flow decides on (route, enabled nodes, thresholds, four-eyes) is
read by ``workflows.selectors.flow``.

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
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.utils.translation import gettext_lazy

from creditfactory.partners.models import Partner
from creditfactory.partners.services.webhooks import webhook_emit
from creditfactory.core.state import change_state, change_state_where
from creditfactory.core.texts import stored_text
from risk.features import DataSourceUnavailable
from risk.models import Decision
from risk.selectors import current_decision
from risk.services.decisions import assess_application, retry_countdown
from servicing.services import credit_line_grant

from ..fastpath import TASK_SLAS, application_save, process_data_save
from ..jobs import JobRetry
from ..locks import application_lock, round_cached
from ..models import APPLICATION_MACHINE, ApplicationStatus, CreditApplication, TaskSla
from ..selectors.applications import application_current_node
from ..selectors.assessment import assessment_request_for
from ..selectors.flow import (decision_outcome, four_eyes_excluded, four_eyes_review_excluded, node_config,
                              process_actions, snapshot_work_group)
from .configuration import node_config_snapshot
from .dispatch import dispatch_pick

S = ApplicationStatus

__all__ = [
    "application_payload", "dispatch_assignee", "emit", "move", "record_action", "save_process_data", "set_actor",
    "step_approve", "step_assess", "step_assessment_done", "step_assessment_failed", "step_assessment_started",
    "step_documents_requested", "step_grant", "step_reject", "step_start", "step_task_created",
]


# --- helpers ---------------------------------------------------------------------------------------


def save_process_data(process) -> None:
    """``process.save(update_fields=["data"])``, one prebuilt statement (the steps save the
    process's data on most moves)."""
    process_data_save(process)


def _application(process) -> CreditApplication:
    return application_lock(process.data["application_id"])


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
    return round_cached(("user", user_id), lambda: get_user_model().objects.filter(pk=user_id).first())


def move(application: CreditApplication, *, to_state: str, actor=None, actor_label: str = "", reason: str = "",
         extra_update_fields=(), process=None) -> None:
    """``change_state`` with the application's machine; a move to the current state is a no-op.
    With ``process``, the actor is the one the process was last moved by (``set_actor``)."""
    if process is not None:
        actor, actor_label = _actor(process)
    if application.status == to_state:
        if extra_update_fields:
            application_save(application, [*extra_update_fields, "updated_at"])
        return
    user = actor if getattr(actor, "pk", None) else None
    change_state(application, to_state=to_state, machine=APPLICATION_MACHINE, actor=user,
                 actor_label="" if user else (actor_label or "system"), reason=reason,
                 extra_update_fields=extra_update_fields)


def application_payload(application: CreditApplication, *, at_node: str | None = None, **extra) -> dict:
    """What a partner's webhook says about an application (no personal data). ``at_node``: the
    node the application waits at, when the caller knows it (else it is read)."""
    # application_lock annotates the product's code; elsewhere the (cached) version has it.
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


def emit(application: CreditApplication, *, event: str, at_node: str | None = None, **extra) -> None:
    """Tell the application's partner, inside the caller's transaction (no partner: nothing)."""
    if not application.partner_id:
        return
    # Only the partner's id is needed: no query when the partner is not loaded.
    partner = (application.partner if CreditApplication.partner.is_cached(application)
               else Partner(pk=application.partner_id))
    webhook_emit(partner=partner, event=event, payload=application_payload(application, at_node=at_node, **extra))


def record_action(process, *, node: str, action: str, actor, reason: str = "", **extra) -> None:
    """Append a human decision to ``process.data`` (saved)."""
    data = process.data or {}
    data.setdefault("actions", []).append({
        "node": node, "action": action, "by": actor.pk, "at": timezone.now().isoformat(), "reason": reason, **extra,
    })
    process.data = data
    set_actor(process, actor=actor)
    save_process_data(process)


def dispatch_assignee(activation, *, node: str):
    """Who gets a new human task: the node's fixed assignee, else the work group's policy
    (claim → nobody, the task waits in the queue). Four-eyes exclusions are never chosen."""
    process = activation.process
    excluded = four_eyes_excluded(process) if node == "approval" else four_eyes_review_excluded(process)
    work_group = snapshot_work_group(process, node=node)
    assignee_id = node_config(process, node=node).get("assignee")
    if assignee_id and assignee_id not in excluded:
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is not None:
            return assignee
    if work_group is None:
        return None
    return dispatch_pick(work_group, excluded=excluded)


# --- the steps -------------------------------------------------------------------------------------


def step_start(activation, *, application: CreditApplication, actor=None, actor_label: str = "") -> None:
    process = activation.process
    process.data = {
        "application_id": application.pk, "number": application.number, "amount": f"{application.amount:.2f}",
        "config": node_config_snapshot(application.product_version.product), "actions": [],
        # Four-eyes: who entered it may neither review nor approve it (selectors.flow).
        "entered_by": application.created_by_id,
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
                       reason=stored_text(gettext_noop("Automated risk assessment started.")))


def step_assess(activation, *, attempt: int) -> dict:
    """Runs on the worker without the process lock: gather data and decide. The result carries
    what ``step_assessment_done`` records, so applying it reads nothing more."""
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


def step_assessment_done(activation, *, result: dict) -> None:
    process = activation.process
    if "decision" in result:
        summary, customer_reasons = result["decision"], result["customer_reasons"]
    else:  # a result from before summaries were passed along
        decision = Decision.objects.get(pk=result["decision_id"])
        summary, customer_reasons = _decision_summary(decision), decision.customer_reasons(settings.LANGUAGE_CODE)
    process.data["decision"] = summary
    set_actor(process, actor_label="system")
    save_process_data(process)
    application = _application(process)
    application.decided_at = timezone.now()
    application_save(application, ["decided_at", "updated_at"])
    # The job's own task is the one open place the application waits at (the flow has one token).
    emit(application, event="application.decided", at_node=activation.flow_task.name,
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


def step_task_created(activation, *, node: str) -> None:
    """A task of a configured node was created: move the application, start the SLA clock."""
    process, task = activation.process, activation.task
    application = _application(process)
    to_state, reason = _ENTERING[node]
    reason = stored_text(reason)
    if application.status == S.RETURNED:
        reason = stored_text(gettext_noop("Documents received: back to %(node)s."), node=task.flow_task.task_title)
    elif node == "review" and decision_outcome(process) is None:
        reason = stored_text(gettext_noop("The automated assessment failed: manual review."))
    move(application, to_state=to_state, reason=reason, process=process)
    if task.owner_id and task.assigned is None:
        task.assigned = timezone.now()
        task.save(update_fields=["assigned"])
    config = node_config(process, node=node)
    if config.get("sla_hours"):
        TASK_SLAS.insert(TaskSla(
            task_id=task.pk, application=application, branch_id=application.branch_id, node=node, work_group_id=config.get("work_group"),
            sla_hours=config["sla_hours"], due_at=task.created + timedelta(hours=config["sla_hours"]),
        ))
    if node == "contract":
        emit(application, event="contract.ready")


def step_documents_requested(activation) -> None:
    process = activation.process
    application = _application(process)
    node = process.data.get("returned_from") or "review"
    request = process_actions(process, node=node)[-1]
    move(application, to_state=S.RETURNED, reason=request.get("reason", ""), process=process)
    emit(application, event="application.returned", reason=request.get("reason", ""),
         documents=request.get("documents") or [])


def step_approve(activation) -> None:
    process = activation.process
    application = _application(process)
    human = [a for a in process_actions(process) if a["action"] == "approve"]
    if human:
        mode, approver_id = human[-1]["node"], human[-1]["by"]
    else:
        mode, approver_id = "straight_through", None
    process.data["approved"] = {"mode": mode, "by": approver_id, "at": timezone.now().isoformat()}
    save_process_data(process)
    application.approved_by_id, application.approved_at = approver_id, timezone.now()
    application.approval_mode = mode
    application_save(application, ["approved_by", "approved_at", "approval_mode", "updated_at"])
    emit(application, event="application.approved", approval=mode)


def step_grant(activation) -> None:
    process = activation.process
    application = _application(process)
    decision = current_decision(application_id=application.pk)
    actor, actor_label = _actor(process)
    line = credit_line_grant(application=application, decision=decision, actor=actor, actor_label=actor_label)
    application.closed_at = timezone.now()
    move(application, to_state=S.APPROVED,
         reason=stored_text(gettext_noop("Credit line %(line)s granted."), line=line.pk),
         extra_update_fields=("closed_at",), process=process)
    emit(application, event="line.granted", line={
        "id": line.pk, "limit": f"{line.limit:.2f}", "rate_percent": str(line.rate_percent),
        "rate_basis": line.rate_basis, "grade": line.grade, "valid_until": line.valid_until.isoformat(),
    })


def _rejection_reasons(process, application) -> tuple[str, list[str]]:
    """(why, for the log; what the customer is told)."""
    rejections = [a for a in process_actions(process) if a["action"] == "reject"]
    if rejections:
        return rejections[-1]["reason"], [rejections[-1].get("customer_reason") or _("Overall assessment not passed.")]
    decision = current_decision(application_id=application.pk)
    if decision is None:
        return stored_text(gettext_noop("Rejected.")), []
    codes = ", ".join(reason.get("code", "") for reason in decision.reasons if reason.get("outcome") == "reject")
    return (stored_text(gettext_noop("Risk decision: reject (%(codes)s)."), codes=codes or "—"),
            decision.customer_reasons(settings.LANGUAGE_CODE))


def step_reject(activation) -> None:
    process = activation.process
    application = _application(process)
    why, customer_reasons = _rejection_reasons(process, application)
    application.closed_at = timezone.now()
    move(application, to_state=S.REJECTED, reason=why, extra_update_fields=("closed_at",), process=process)
    emit(application, event="application.rejected", reasons=customer_reasons)
