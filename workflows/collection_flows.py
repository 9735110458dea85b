"""The collection case flow (催收案件流程): the human work on a case, in its work group's queue.

    start ─▶ route ─┬─ work   (a call task: 电催)
                    ├─ visit  (a field-visit task: 外访; done by recording the visit's result)
                    └─ legal  (a legal-referral task: 法务移交; done by referring the case)
          each ─▶ more ─┬─ route (the case is still open at a human step: the next round)
                        └─ end   (the case closed, its step is automated or an agency's now,
                                  or it was referred to legal)

``route`` picks the task's kind from the strategy step in force (call, visit, legal); each task
is dispatched by the work group's policy (claim, round-robin or least-loaded) and a lead
reassigns it. The daily close moves the case (``collection.services.collection_close_phase``);
a process is started for each open case at a human step by ``collection_flows_sync`` (a beat
task after the close, so the close itself stays set-based). The case is the process's artifact;
its id, step and work group are copied into ``process.data`` when the process starts."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow

from collection.models import CollectionCase
from creditfactory.organisations.scoping import scope_queryset
from servicing.models import Loan

from .locks import PROCESS_LOCK
from .models import FlowTask, WORK_ON_QUEUE
from .nodes import SCOPED_RIGHTS, QueueView, ScopedNodeMixin
from .services import collection_cases as steps

__all__ = ["CollectionFlow"]


def _can_see_case(user, task) -> bool:
    loan_id = (task.process.data or {}).get("loan_id")
    return scope_queryset(Loan.objects.filter(pk=loan_id), user).exists()


def _case_scoped_right(name: str):
    def right(self, user, task=None):
        parent = getattr(super(ScopedNodeMixin, self), name, None)
        if parent is None or not parent(user, task):
            return False
        return task is None or _can_see_case(user, task)

    right.__name__ = name
    return right


class CaseQueueView(QueueView):
    """A collection task: every right is the node's own and the loan belongs to a branch the user
    may see."""


for _name in SCOPED_RIGHTS:
    setattr(CaseQueueView, _name, _case_scoped_right(_name))


class CollectionFlow(flow.Flow):
    """Collection case

    The collectors' work on an overdue loan's case: call, field-visit or legal-referral tasks in
    the strategy's work group, until the case closes or leaves the human steps."""

    process_title = _("Collection case")
    process_summary_template = "{{ process.data.loan_number }} · {{ process.data.bucket }}"
    lock_impl = PROCESS_LOCK
    task_class = FlowTask

    start = flow.StartHandle(this.start_process).Annotation(title=_("Case handed over")).Next(this.route)
    route = (
        flow.Switch()
        .Annotation(title=_("Which kind of task?"))
        .Case(this.visit, this.is_visit)
        .Case(this.legal, this.is_legal)
        .Default(this.work)
    )
    work = (
        CaseQueueView(this.task_view)
        .Annotation(title=_("Call task (电催)"))
        .Permission(WORK_ON_QUEUE, obj=steps.work_group_of)
        .Assign(this.dispatch_work)
        .Next(this.more)
    )
    visit = (
        CaseQueueView(this.task_view)
        .Annotation(title=_("Field visit (外访)"))
        .Permission(WORK_ON_QUEUE, obj=steps.work_group_of)
        .Assign(this.dispatch_work)
        .Next(this.more)
    )
    legal = (
        CaseQueueView(this.task_view)
        .Annotation(title=_("Legal referral (法务移交)"))
        .Permission(WORK_ON_QUEUE, obj=steps.work_group_of)
        .Assign(this.dispatch_work)
        .Next(this.more)
    )
    more = (
        flow.If(this.still_ours)
        .Annotation(title=_("More work on the case?"))
        .Then(this.route)
        .Else(this.end)
    )
    end = flow.End().Annotation(title=_("Done"))

    def start_process(self, activation, *, case: CollectionCase, actor=None):
        steps.step_start(activation, case=case, actor=actor)
        return activation.process

    def task_view(self, request, **kwargs):
        return HttpResponseRedirect(steps.case_url(request.activation.process.data["case_id"]))

    def dispatch_work(self, activation):
        return steps.dispatch_work(activation)

    def still_ours(self, activation):
        return steps.still_human(activation.process)

    def is_visit(self, activation):
        return steps.task_kind(activation.process) == "visit"

    def is_legal(self, activation):
        return steps.task_kind(activation.process) == "legal"
