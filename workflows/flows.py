"""The credit application flow (授信申请): from an application to a granted credit line.

One superset graph for every product; what differs per product (optional nodes, work groups,
assignees, SLAs, straight-through approval, approval threshold) is configuration (which nodes:
``workflows.models.configuration.NODE_SPECS``), copied into ``process.data["config"]`` when the
process starts (see ``workflows.services.configuration``).
Flows are never subclassed per product (inherited ``this.`` references would stay bound to the
parent's nodes).

    start ─▶ assess (Celery job) ─▶ route ─┬─ reject ─▶ rejected
                 │ on error               ├─ approve (straight through, within the ceiling)
                 ▼                        └─ review
               review ─▶ after_review ─┬─ reject
                                       ├─ await_documents ─▶ resume ─▶ review | approval
                                       ├─ approval ─▶ after_approval ─┬─ reject
                                       │                              ├─ await_documents
                                       │                              └─ approve
                                       └─ approve
    approve ─▶ needs_signing ─┬─ signing (远程面签, waits for a passed signing) ─┐
                              └──────────────────────────────────────────────────┴─▶ contract
    contract (waits for the applicant's acceptance) ─▶ grant (credit line) ─▶ end

The node callbacks below only parse the activation and either ask ``workflows.selectors.flow``
(which path, which node) or call one step of ``workflows.services.flow_steps`` (what changes);
the services drive the waiting and human nodes. A human task's page opens the application's
workbench (``workflows.backoffice.task_views``).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from viewflow import this
from viewflow.workflow import flow

from .backoffice.task_views import task_redirect
from .locks import PROCESS_LOCK
from .models import FlowTask, WORK_ON_QUEUE
from .nodes import CeleryJob, End, Function, If, QueueView, StartHandle, Switch, Wait, process_in_scope
from .selectors import flow as predicates
from .services import flow_steps

__all__ = ["CreditApplicationFlow"]


def _queue(node: str):
    """The work group of ``node`` from the process's snapshot: the object of the task's queue
    permission, stored on the task when it is created."""

    def work_group(process):
        return predicates.snapshot_work_group(process, node=node)

    return work_group


class CreditApplicationFlow(flow.Flow):
    """Credit application

    From an application to a granted credit line (授信): automated risk assessment, manual review
    and approval where configured, remote signing, contract acceptance."""

    process_title = _("Credit application")
    process_summary_template = "{{ process.data.number }} · {{ process.data.config.product }}"
    # viewflow's select_for_update lock with a memo of the rows a locked round has read
    # (workflows.locks).
    lock_impl = PROCESS_LOCK
    # viewflow's Task table, its row writes built once per process (workflows.models.tasks).
    task_class = FlowTask

    start = (
        StartHandle(this.start_process)
        .Annotation(title=_("Application submitted"))
        .Next(this.assess)
    )
    assess = (
        CeleryJob(this.assess_compute, on_start=this.assess_started, on_result=this.assess_done,
                  on_error=this.assess_failed)
        .Annotation(title=_("Risk assessment"))
        # Not interrupting: the failed job stays visible in ERROR beside the review it led to.
        .OnError(this.review, interrupting=False, title=_("Assessment failed"))
        .Next(this.route)
    )
    route = (
        Switch()
        .Annotation(title=_("Risk decision"))
        .Case(this.reject, this.decision_is_reject)
        .Case(this.approve, this.straight_through)
        .Default(this.review)
    )
    review = (
        QueueView(this.task_view)
        .Annotation(title=_("Manual review (审查)"))
        .Permission(WORK_ON_QUEUE, obj=_queue("review"))
        .Assign(this.dispatch_review)
        .FourEyes(this.four_eyes_review_excluded)
        .onCreate(this.review_created)
        .Next(this.after_review)
    )
    after_review = (
        Switch()
        .Annotation(title=_("Review outcome"))
        .Case(this.reject, this.review_rejected)
        .Case(this.await_documents, this.review_returned)
        .Case(this.approval, this.needs_approval)
        .Default(this.approve)
    )
    approval = (
        QueueView(this.task_view)
        .Annotation(title=_("Approval (审批)"))
        .Permission(WORK_ON_QUEUE, obj=_queue("approval"))
        .Assign(this.dispatch_approval)
        .FourEyes(this.four_eyes_excluded)
        .onCreate(this.approval_created)
        .Next(this.after_approval)
    )
    after_approval = (
        Switch()
        .Annotation(title=_("Approval outcome"))
        .Case(this.reject, this.approval_rejected)
        .Case(this.await_documents, this.approval_returned)
        .Default(this.approve)
    )
    await_documents = (
        Wait()
        .Annotation(title=_("Waiting for documents"))
        .onCreate(this.documents_requested)
        .Next(this.resume)
    )
    resume = (
        Switch()
        .Annotation(title=_("Back to the step that asked"))
        .Case(this.approval, this.resume_to_approval)
        .Default(this.review)
    )
    approve = Function(this.approve_application).Annotation(title=_("Approved")).Next(this.needs_signing)
    needs_signing = (
        If(this.signing_enabled)
        .Annotation(title=_("Signing required?"))
        .Then(this.signing)
        .Else(this.contract)
    )
    signing = (
        Wait()
        .Annotation(title=_("Remote signing (远程面签)"))
        .onCreate(this.signing_created)
        .Next(this.contract)
    )
    contract = (
        Wait()
        .Annotation(title=_("Contract acceptance"))
        .onCreate(this.contract_created)
        .Next(this.grant)
    )
    grant = Function(this.grant_line).Annotation(title=_("Credit line granted (授信)")).Next(this.end)
    reject = Function(this.reject_application).Annotation(title=_("Rejected")).Next(this.rejected)
    end = End().Annotation(title=_("Line granted"))
    rejected = End().Annotation(title=_("Rejected"))

    # --- rights: viewflow's, limited to the applications of the user's branches ---------------------

    def has_view_permission(self, user, obj=None):
        """The process pages (detail, chart) of another branch's application are refused."""
        return super().has_view_permission(user, obj=obj) and (
            obj is None or process_in_scope(user, getattr(obj, "pk", None)))

    def has_manage_permission(self, user, obj=None):
        """Cancelling another branch's process is refused, even to a flow manager of one branch."""
        return super().has_manage_permission(user, obj=obj) and (
            obj is None or process_in_scope(user, getattr(obj, "pk", None)))

    # --- start and the automated assessment --------------------------------------------------------

    def start_process(self, activation, *, application, actor=None, actor_label=""):
        flow_steps.step_start(activation, application=application, actor=actor, actor_label=actor_label)
        return activation.process

    def assess_started(self, activation):
        flow_steps.step_assessment_started(activation)

    def assess_compute(self, activation, *, attempt):
        return flow_steps.step_assess(activation, attempt=attempt)

    def assess_done(self, activation, result):
        flow_steps.step_assessment_done(activation, result=result)

    def assess_failed(self, activation, exc):
        flow_steps.step_assessment_failed(activation)

    def decision_is_reject(self, activation):
        return predicates.decision_outcome(activation.process) == "reject"

    def straight_through(self, activation):
        return predicates.is_straight_through(activation.process)

    # --- human tasks ------------------------------------------------------------------------------

    def task_view(self, request, **kwargs):
        return task_redirect(request, **kwargs)

    def dispatch_review(self, activation):
        return flow_steps.dispatch_assignee(activation, node="review")

    def dispatch_approval(self, activation):
        return flow_steps.dispatch_assignee(activation, node="approval")

    def four_eyes_excluded(self, task):
        return predicates.four_eyes_excluded(task.process)

    def four_eyes_review_excluded(self, task):
        return predicates.four_eyes_review_excluded(task.process)

    def review_created(self, activation):
        flow_steps.step_task_created(activation, node="review")

    def approval_created(self, activation):
        flow_steps.step_task_created(activation, node="approval")

    def review_rejected(self, activation):
        return predicates.last_action(activation.process, node="review") == "reject"

    def review_returned(self, activation):
        return predicates.last_action(activation.process, node="review") == "return"

    def needs_approval(self, activation):
        return predicates.needs_approval(activation.process)

    def approval_rejected(self, activation):
        return predicates.last_action(activation.process, node="approval") == "reject"

    def approval_returned(self, activation):
        return predicates.last_action(activation.process, node="approval") == "return"

    # --- waiting points and the ends -------------------------------------------------------------

    def documents_requested(self, activation):
        flow_steps.step_documents_requested(activation)

    def resume_to_approval(self, activation):
        return (activation.process.data or {}).get("returned_from") == "approval"

    def approve_application(self, activation):
        flow_steps.step_approve(activation)

    def signing_enabled(self, activation):
        return predicates.node_enabled(activation.process, node="signing")

    def signing_created(self, activation):
        flow_steps.step_task_created(activation, node="signing")

    def contract_created(self, activation):
        flow_steps.step_task_created(activation, node="contract")

    def grant_line(self, activation):
        flow_steps.step_grant(activation)

    def reject_application(self, activation):
        flow_steps.step_reject(activation)

