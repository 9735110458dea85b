"""Credit-line changes (额度变更) through ``CreditLineChangeFlow``: submit a change (officer,
partner or a risk rule), decide its approval task (four-eyes), and the steps the flow's nodes take.

``line_change_submit`` records the change (``servicing.services.lines.line_change_request``,
which checks it against the line) and starts its process in the same transaction: a change that
needs no approval is applied before the call returns. ``line_change_decide`` completes the
approval task under the process lock. ``process.data`` holds ``change_id``, ``line_id``,
``number``, ``kind``, ``source``, ``requested_by`` (a user id or None), ``config`` (the product's
node configuration snapshot), ``actor`` and ``actions`` (as the credit flow's).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.status import STATUS

from servicing.models import CreditLineChange, CreditLineChangeStatus
from servicing.services.lines import line_change_apply, line_change_reject, line_change_request

from ..models import LINE_CHANGE_FLOW, TaskSla
from ..selectors.flow import node_config, process_actions
from ..selectors.line_changes import change_open_task, change_process, four_eyes_excluded, snapshot_work_group
from .configuration import node_config_snapshot
from .dispatch import dispatch_pick
from .flow_steps import record_action, save_process_data, set_actor

__all__ = ["dispatch_approval", "line_change_decide", "line_change_submit", "step_apply", "step_approval_created",
           "step_reject", "step_start"]

ACTIONS = ("approve", "reject")


def _flow():
    from ..line_flows import CreditLineChangeFlow

    return CreditLineChangeFlow


@transaction.atomic
def line_change_submit(*, line, kind: str, reason: str, source: str, new_limit=None, actor=None,
                       actor_label: str = "", partner=None, warning=None, new_rate_percent=None) -> CreditLineChange:
    """Request a change of ``line`` and run it through the line change flow. ValidationError
    (naming the field) when the line does not allow it now; nothing is written then."""
    change = line_change_request(line=line, kind=kind, new_limit=new_limit, reason=reason, source=source,
                                 actor=actor, partner=partner, warning=warning, new_rate_percent=new_rate_percent)
    _flow().start.run(change=change, actor=actor, actor_label=actor_label or (partner.name if partner else ""))
    change.refresh_from_db()
    return change


def line_change_decide(*, change: CreditLineChange, actor, action: str, note: str = "") -> CreditLineChange:
    """The approver's decision on a change waiting for approval: ``approve`` applies it,
    ``reject`` (a reason required) leaves the line as it is. Whoever requested the change may not
    decide it (four-eyes)."""
    if action not in ACTIONS:
        raise ValidationError({"action": [_("Choose approve or reject.")]})
    note = (note or "").strip()
    if action == "reject" and not note:
        raise ValidationError({"note": [_("Give the reason for rejecting the change.")]})
    if not getattr(actor, "pk", None):
        raise PermissionDenied(_("Only staff can approve line changes."))
    process = change_process(change)
    if process is None:
        raise ValidationError({"status": [ValidationError(_("Change %(number)s is not waiting for approval.")
                                                          % {"number": change.number}, code="closed")]})
    flow_class = _flow()
    with flow_class.lock(process.pk), transaction.atomic():
        process.refresh_from_db()
        task = change_open_task(process)
        if task is None:
            raise ValidationError({"status": [ValidationError(
                _("Change %(number)s is not waiting for approval.") % {"number": change.number}, code="closed")]})
        node = task.flow_task
        if actor.pk in four_eyes_excluded(process):
            raise ValidationError({"actor": [_("You requested this change: another person must approve it.")]})
        activation = node.activation_class(task)
        if task.status == STATUS.NEW:
            if not node.can_assign(actor, task):
                raise PermissionDenied(_("You do not work on this task's queue."))
            activation.assign(actor)
        if not node.can_execute(actor, task):
            raise PermissionDenied(_("The task is assigned to %(user)s.") % {"user": task.owner})
        record_action(process, node="approval", action=action, actor=actor, reason=note)
        activation.start(None)
        activation.execute()
    return CreditLineChange.objects.get(pk=change.pk)


# --- the flow's steps -----------------------------------------------------------------------------


def _actor(process) -> tuple:
    current = (process.data or {}).get("actor") or {}
    user = get_user_model().objects.filter(pk=current["id"]).first() if current.get("id") else None
    return user, current.get("label") or ("" if user else "system")


def _change(process) -> CreditLineChange:
    return CreditLineChange.objects.select_related("credit_line__product_version__product").get(
        pk=process.data["change_id"])


def step_start(activation, *, change: CreditLineChange, actor=None, actor_label: str = "") -> None:
    process = activation.process
    change = CreditLineChange.objects.select_related("credit_line__product_version__product").get(pk=change.pk)
    process.data = {
        "change_id": change.pk, "line_id": change.credit_line_id, "number": change.number, "kind": change.kind,
        "source": change.source, "requested_by": change.requested_by_id,
        "config": node_config_snapshot(change.credit_line.product_version.product, flow=LINE_CHANGE_FLOW),
        "actions": [],
    }
    set_actor(process, actor=actor, actor_label=actor_label)
    process.artifact = change
    if getattr(actor, "pk", None):
        activation.task.owner = actor


def dispatch_approval(activation):
    """The node's fixed assignee, else the work group's policy; never the requester."""
    process = activation.process
    excluded = four_eyes_excluded(process)
    assignee_id = node_config(process, node="approval").get("assignee")
    if assignee_id and assignee_id not in excluded:
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is not None:
            return assignee
    work_group = snapshot_work_group(process, node="approval")
    return dispatch_pick(work_group, excluded=excluded) if work_group is not None else None


def step_approval_created(activation) -> None:
    """The approval task waits in the queue: its SLA deadline is kept on the process."""
    process, task = activation.process, activation.task
    if task.owner_id and task.assigned is None:
        task.assigned = timezone.now()
        task.save(update_fields=["assigned"])
    config = node_config(process, node="approval")
    sla_hours = config.get("sla_hours")
    if sla_hours:
        due_at = task.created + timedelta(hours=sla_hours)
        process.data["due_at"] = due_at.isoformat()
        save_process_data(process)
        change = _change(process)
        TaskSla.objects.create(task_id=task.pk, line_change=change, branch_id=change.credit_line.branch_id,
                               node="approval", work_group_id=config.get("work_group"), sla_hours=sla_hours,
                               due_at=due_at)


def _note(process) -> str:
    actions = process_actions(process, node="approval")
    return actions[-1].get("reason", "") if actions else ""


def step_apply(activation) -> None:
    process = activation.process
    user, label = _actor(process)
    change = _change(process)
    if change.status == CreditLineChangeStatus.REQUESTED:
        line_change_apply(change=change, actor=user, actor_label=label, note=_note(process))


def step_reject(activation) -> None:
    process = activation.process
    user, label = _actor(process)
    change = _change(process)
    if change.status == CreditLineChangeStatus.REQUESTED:
        line_change_reject(change=change, reason=_note(process) or _("Rejected in approval."), actor=user,
                           actor_label=label)
