"""The credit-line change flow (额度变更): from a requested change to an applied or rejected one.

    start ─▶ route ─┬─ apply (directly: the product's approval node is off, or a risk rule asked)
                    └─ approval (a work group's queue; four-eyes against whoever requested it)
                          ─▶ after_approval ─┬─ apply ─▶ end
                                             └─ reject ─▶ rejected

What differs per product is configuration (``workflows.models.configuration.NODE_SPECS``
under ``LINE_CHANGE_FLOW``: the approval node on or off, its work group, fixed assignee and SLA),
copied into ``process.data["config"]`` when the process starts, as for the credit flow. The
change itself is ``servicing.models.CreditLineChange`` (the process's artifact); the node callbacks
call one step of ``workflows.services.line_changes`` each, and the servicing services do the
change (``line_change_apply`` / ``line_change_reject``).
"""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow

from creditfactory.organisations.scoping import scope_queryset
from servicing.models import CreditLine

from .locks import PROCESS_LOCK
from .models import FlowTask, WORK_ON_QUEUE
from .nodes import SCOPED_RIGHTS, QueueView, ScopedNodeMixin
from .selectors import line_changes as predicates
from .services import line_changes as steps

__all__ = ["CreditLineChangeFlow"]


def _can_see_line(user, task) -> bool:
    line_id = (task.process.data or {}).get("line_id")
    return scope_queryset(CreditLine.objects.filter(pk=line_id), user).exists()


def _line_scoped_right(name: str):
    def right(self, user, task=None):
        # The node's own right (skipping the credit flow's application scoping), then the line's branch.
        parent = getattr(super(ScopedNodeMixin, self), name, None)
        if parent is None or not parent(user, task):
            return False
        return task is None or _can_see_line(user, task)

    right.__name__ = name
    return right


class LineQueueView(QueueView):
    """A human task of the line change flow: every right is the node's own and the line belongs to
    a branch the user may see (not an application's, as the credit flow's tasks)."""


for _name in SCOPED_RIGHTS:
    setattr(LineQueueView, _name, _line_scoped_right(_name))


def _approval_work_group(process):
    return predicates.snapshot_work_group(process, node="approval")


class CreditLineChangeFlow(flow.Flow):
    """Credit line change

    An increase, decrease, freeze, unfreeze or termination of a credit line: approved in a work
    group's queue where the product configures it, else applied directly."""

    process_title = _("Credit line change")
    process_summary_template = "{{ process.data.number }} · {{ process.data.kind }}"
    lock_impl = PROCESS_LOCK
    task_class = FlowTask

    start = flow.StartHandle(this.start_process).Annotation(title=_("Change requested")).Next(this.route)
    route = (
        flow.Switch()
        .Annotation(title=_("Approval needed?"))
        .Case(this.apply, this.applied_directly)
        .Default(this.approval)
    )
    approval = (
        LineQueueView(this.task_view)
        .Annotation(title=_("Line change approval (额度变更审批)"))
        .Permission(WORK_ON_QUEUE, obj=_approval_work_group)
        .Assign(this.dispatch_approval)
        .FourEyes(this.four_eyes_excluded)
        .onCreate(this.approval_created)
        .Next(this.after_approval)
    )
    after_approval = (
        flow.Switch()
        .Annotation(title=_("Approval outcome"))
        .Case(this.reject, this.approval_rejected)
        .Default(this.apply)
    )
    apply = flow.Function(this.apply_change).Annotation(title=_("Change applied")).Next(this.end)
    reject = flow.Function(this.reject_change).Annotation(title=_("Change rejected")).Next(this.rejected)
    end = flow.End().Annotation(title=_("Applied"))
    rejected = flow.End().Annotation(title=_("Rejected"))

    def start_process(self, activation, *, change, actor=None, actor_label=""):
        steps.step_start(activation, change=change, actor=actor, actor_label=actor_label)
        return activation.process

    def applied_directly(self, activation):
        return predicates.applied_directly(activation.process)

    def task_view(self, request, **kwargs):
        return HttpResponseRedirect(predicates.line_url(request.activation.process.data["line_id"]))

    def dispatch_approval(self, activation):
        return steps.dispatch_approval(activation)

    def four_eyes_excluded(self, task):
        return predicates.four_eyes_excluded(task.process)

    def approval_created(self, activation):
        steps.step_approval_created(activation)

    def approval_rejected(self, activation):
        return predicates.last_action(activation.process) == "reject"

    def apply_change(self, activation):
        steps.step_apply(activation)

    def reject_change(self, activation):
        steps.step_reject(activation)
