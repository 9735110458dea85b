"""Work dispatch (工单模式任务派发) of the credit flow's human tasks: auto-assignment by the work
group's policy, claiming, a lead's reassignment, and SLA escalation.

Claim and execute rights follow the work group stored on the task (``QueueView``), so a task
created before an admin re-routed its node stays with the queue it was created in.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text
from creditfactory.organisations.dispatch import pick_assignee
from creditfactory.organisations.models import AssignmentPolicy, WorkGroup

from ..locks import sla_escalation_claim
from ..models import CreditApplication, TaskSla
from ..nodes import QueueView

__all__ = ["OPEN_TASK_STATUSES", "dispatch_pick", "open_task_counts", "sla_escalate_overdue", "task_claim",
           "task_reassign"]

logger = logging.getLogger(__name__)

OPEN_TASK_STATUSES = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED, STATUS.SCHEDULED)


def open_task_counts(member_ids: list[int]) -> dict[int, int]:
    """{user id: open human tasks assigned to them}, from viewflow's task table."""
    rows = (Task.objects.filter(owner_id__in=member_ids, flow_task_type="HUMAN",
                                status__in=(STATUS.ASSIGNED, STATUS.STARTED))
            .values("owner_id").annotate(n=Count("id")))
    return {row["owner_id"]: row["n"] for row in rows}


def dispatch_pick(work_group: WorkGroup, *, excluded: set[int] = frozenset()):
    """The member to assign a new task to, by the group's policy, never one of ``excluded``
    (four-eyes); ``None`` leaves the task in the shared queue."""
    if work_group.policy == AssignmentPolicy.CLAIM or not work_group.is_active:
        # Nobody is picked: ``pick_assignee`` would say the same after locking the group's row,
        # which would only make concurrent dispatches of the group wait for each other.
        return None
    tries = max(work_group.members.count(), 1)
    for _attempt in range(tries):
        user = pick_assignee(work_group=work_group, open_tasks=open_task_counts)
        if user is None or user.pk not in excluded:
            return user
    return None


def _lock_task(task_pk: int):
    task = Task.objects.select_related("process").get(pk=task_pk)
    return task


def _check_open_human_task(task) -> None:
    if not isinstance(task.flow_task, QueueView) or task.status not in (STATUS.NEW, STATUS.ASSIGNED):
        raise ValidationError({"task": [_("This task is not open for assignment.")]})


def task_claim(*, task, actor):
    """Take an unassigned task from the queue (claim policy)."""
    with task.flow_task.flow_class.lock(task.process_id), transaction.atomic():
        task = _lock_task(task.pk)
        _check_open_human_task(task)
        node = task.flow_task
        if task.owner_id:
            raise ValidationError({"task": [_("The task is already assigned to %(user)s.") % {"user": task.owner}]})
        if actor.pk in node.excluded_user_ids(task):
            raise ValidationError({"task": [_("Four-eyes: you reviewed or entered this application.")]})
        if not node.can_assign(actor, task):
            raise PermissionDenied(_("You do not work on this task's queue."))
        activation = node.activation_class(task)
        activation.assign(actor)
        task.assigned = timezone.now()
        task.save(update_fields=["assigned"])
    return task


def task_reassign(*, task, to_user, actor):
    """A work group's lead (or a flow manager) gives a task to another member of its queue."""
    with task.flow_task.flow_class.lock(task.process_id), transaction.atomic():
        task = _lock_task(task.pk)
        _check_open_human_task(task)
        node = task.flow_task
        if not (node.is_lead(actor, task) or node.flow_class.instance.has_manage_permission(actor)):
            raise PermissionDenied(_("Only the work group's lead can reassign its tasks."))
        if to_user is None or not to_user.is_active:
            raise ValidationError({"to_user": [_("Choose an active member of staff.")]})
        if to_user.pk in node.excluded_user_ids(task):
            raise ValidationError({"to_user": [_("Four-eyes: %(user)s reviewed or entered this application.")
                                               % {"user": to_user}]})
        if not node.has_queue_permission(to_user, task):
            raise ValidationError({"to_user": [_("%(user)s does not work on this task's queue.") % {"user": to_user}]})
        if task.owner_id == to_user.pk:
            raise ValidationError({"to_user": [_("The task is already assigned to %(user)s.") % {"user": to_user}]})
        previous = task.owner
        activation = node.activation_class(task)
        if task.status == STATUS.NEW:
            activation.assign(to_user)
        else:
            activation.reassign(user=to_user)
        task.assigned = timezone.now()
        task.save(update_fields=["assigned"])
        application = CreditApplication.objects.get(process_id=task.process_id)
        record_transition(application, field="task_owner", from_state=getattr(previous, "username", ""),
                          to_state=to_user.get_username(), actor=actor,
                          reason=stored_text(gettext_noop("%(node)s reassigned by the lead."), node=node.task_title))
    return task


def sla_escalate_overdue(*, now=None) -> int:
    """Escalate every open task past its SLA to its work group's lead: once per task (a
    conditional update claims it), recorded on the deadline row and in the log of what the task is
    about (the application, the drawdown under review or the credit line change to approve)."""
    now = now or timezone.now()
    overdue = (TaskSla.objects.filter(escalated_at__isnull=True, due_at__lte=now, task__status__in=OPEN_TASK_STATUSES)
               .select_related("work_group", "application", "drawdown", "line_change").order_by("due_at"))
    escalated = 0
    for sla in overdue:
        lead_id = sla.work_group.lead_id if sla.work_group_id else None
        with transaction.atomic():
            if not sla_escalation_claim(sla.pk, now=now, lead_id=lead_id):
                continue
            lead = get_user_model().objects.filter(pk=lead_id).first() if lead_id else None
            record_transition(
                sla.subject, field="sla", from_state=sla.node, to_state="escalated", actor_label="system",
                reason=stored_text(gettext_noop("%(node)s open past its %(hours)s-hour SLA: escalated to %(lead)s."),
                                   node=sla.node, hours=sla.sla_hours,
                                   lead=lead or stored_text(gettext_noop("nobody (the work group has no lead)"))),
            )
        logger.info("task %s of %s escalated to user %s", sla.task_id, sla.subject_number, lead_id)
        escalated += 1
    return escalated
