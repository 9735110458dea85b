"""The drawdown flow (借款): from a requested drawdown to a booked loan.

    start ─▶ check (in-loan risk check, Celery job) ─┬─ reject ─▶ rejected
                                                     └─ route (funding routing)
    route ─┬─ reject (no funder within the configured time) ─▶ rejected
           ├─ await_funding (waits; the beat job routes again) ─▶ route
           ├─ review (放款审核, a work group's queue, four-eyes against whoever
           │          entered the drawdown) ─▶ after_review ─┬─ reject
           │                                                 └─ disburse
           └─ disburse
    disburse (the channel is asked to pay, once) ─▶ settle (waits for the confirmation, resumed by
    the task ``workflows.drawdown_disbursement_settled``) ─┬─ book ─▶ end
                                                          └─ fail ─▶ failed

``check``, ``route`` and ``settle`` pick their next node themselves (``workflows.nodes``'
branching nodes): no Switch task after them, so a drawdown's process has seven task rows on the
straight path (start, check, route, disburse, settle, book, end), not ten.

The drawdown itself is ``servicing.models.Drawdown`` (the process's artifact;
``process.data["drawdown_id"]``). The node callbacks call one step of
``workflows.services.drawdown_steps`` each; what the flow decides on is read by
``workflows.selectors.drawdowns``. Cancelling (``workflows.services.drawdowns.drawdown_withdraw``)
cancels the process.
"""

from __future__ import annotations

from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow

from creditfactory.organisations.scoping import scope_queryset
from servicing.models import Drawdown

from .locks import PROCESS_LOCK
from .models import FlowTask, WORK_ON_QUEUE
from .nodes import (
    SCOPED_RIGHTS,
    BranchingFunction,
    BranchingJob,
    BranchingWait,
    NewProcessStartHandle,
    OnceEnd,
    OnceFunction,
    QueueView,
    ScopedNodeMixin,
)
from .selectors import drawdowns as predicates
from .services import drawdown_steps as steps

__all__ = ["DrawdownFlow"]


def _can_see_drawdown(user, task) -> bool:
    if task is None:
        return True
    drawdown_id = (task.process.data or {}).get("drawdown_id")
    return scope_queryset(Drawdown.objects.filter(pk=drawdown_id), user).exists()


def _drawdown_right(name: str):
    def right(self, user, task=None):
        # The node's own right (skipping the credit flow's application scope), then the drawdown's branch.
        parent = getattr(super(ScopedNodeMixin, self), name, None)
        return parent is not None and parent(user, task) and _can_see_drawdown(user, task)

    right.__name__ = name
    return right


class DrawdownScopedMixin:
    """Every right viewflow asks a node of the drawdown flow for (``workflows.nodes.SCOPED_RIGHTS``)
    holds only on a drawdown of a branch the user may see (not an application's, as the credit
    flow's nodes check)."""


for _name in SCOPED_RIGHTS:
    setattr(DrawdownScopedMixin, _name, _drawdown_right(_name))


class DrawdownQueueView(DrawdownScopedMixin, QueueView):
    pass


class DrawdownJob(DrawdownScopedMixin, BranchingJob):
    pass


class DrawdownWait(DrawdownScopedMixin, BranchingWait):
    pass


def _review_work_group(process):
    return predicates.review_work_group(process)


class DrawdownFlow(flow.Flow):
    """Drawdown

    A drawdown on a credit line (借款): in-loan risk check, funding routing, disbursement review
    where required, disbursement and the loan booked on the ledger."""

    process_title = _("Drawdown")
    process_summary_template = "{{ process.data.number }} · {{ process.data.amount }}"
    lock_impl = PROCESS_LOCK
    task_class = FlowTask

    start = NewProcessStartHandle(this.start_process).Annotation(title=_("Drawdown requested")).Next(this.check)
    check = (
        DrawdownJob(this.check_compute, on_start=this.check_started, on_result=this.check_done,
                    on_error=this.check_failed)
        .Annotation(title=_("In-loan risk check"))
        .Case(this.reject, this.check_refused)
        .Default(this.route)
    )
    route = (
        BranchingFunction(this.route_funding)
        .Annotation(title=_("Funding routing"))
        .Case(this.reject, this.funding_timed_out)
        .Case(this.await_funding, this.unfunded)
        .Case(this.review, this.needs_review)
        .Default(this.disburse)
    )
    await_funding = (
        DrawdownWait()
        .Annotation(title=_("Awaiting funding"))
        .Default(this.route)
    )
    review = (
        DrawdownQueueView(this.task_view)
        .Annotation(title=_("Disbursement review (放款审核)"))
        .Permission(WORK_ON_QUEUE, obj=_review_work_group)
        .Assign(this.dispatch_review)
        .FourEyes(this.four_eyes_excluded)
        .onCreate(this.review_created)
        .Next(this.after_review)
    )
    after_review = (
        flow.Switch()
        .Annotation(title=_("Review outcome"))
        .Case(this.reject, this.review_rejected)
        .Default(this.disburse)
    )
    disburse = OnceFunction(this.send_disbursement).Annotation(title=_("Disbursement (放款)")).Next(this.settle)
    settle = (
        DrawdownWait()
        .Annotation(title=_("Waiting for the payment confirmation"))
        .Case(this.book, this.paid)
        .Default(this.fail)
    )
    book = OnceFunction(this.book_loan).Annotation(title=_("Loan booked")).Next(this.end)
    fail = OnceFunction(this.fail_drawdown).Annotation(title=_("Disbursement failed")).Next(this.failed)
    reject = OnceFunction(this.reject_drawdown).Annotation(title=_("Rejected")).Next(this.rejected)
    end = OnceEnd().Annotation(title=_("Disbursed"))
    failed = OnceEnd().Annotation(title=_("Failed"))
    rejected = OnceEnd().Annotation(title=_("Rejected"))

    def start_process(self, activation, *, drawdown, actor=None, actor_label=""):
        steps.step_start(activation, drawdown=drawdown, actor=actor, actor_label=actor_label)
        return activation.process

    def check_started(self, activation):
        steps.step_check_started(activation)

    def check_compute(self, activation, *, attempt):
        return steps.step_check(activation, attempt=attempt)

    def check_done(self, activation, result):
        steps.step_check_done(activation, result=result)

    def check_failed(self, activation, exc):
        steps.step_check_failed(activation)

    def check_refused(self, activation):
        return predicates.check_refused(activation.process)

    def route_funding(self, activation):
        steps.step_route(activation)

    def funding_timed_out(self, activation):
        return predicates.routing_outcome(activation.process) == "timed_out"

    def unfunded(self, activation):
        return predicates.routing_outcome(activation.process) == "unfunded"

    def needs_review(self, activation):
        return predicates.needs_review(activation.process)

    def task_view(self, request, **kwargs):
        return HttpResponseRedirect(predicates.drawdown_url(request.activation.process.data["drawdown_id"]))

    def dispatch_review(self, activation):
        return steps.dispatch_review(activation)

    def four_eyes_excluded(self, task):
        return predicates.four_eyes_excluded(task.process)

    def review_created(self, activation):
        steps.step_review_created(activation)

    def review_rejected(self, activation):
        return predicates.last_action(activation.process) == "reject"

    def send_disbursement(self, activation):
        steps.step_disburse(activation)

    def paid(self, activation):
        return predicates.settled_paid(activation.process)

    def book_loan(self, activation):
        steps.step_book(activation)

    def fail_drawdown(self, activation):
        steps.step_fail(activation)

    def reject_drawdown(self, activation):
        steps.step_reject(activation)
