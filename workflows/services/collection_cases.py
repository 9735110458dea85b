"""Collection cases through ``CollectionFlow``: start a process for each open case at a human
step of its strategy (call, field visit, legal referral) that has none running
(``collection_flows_sync``, a beat task after the daily close), complete a task when the
collector is done with this round (``collection_task_complete``) — a field-visit task by
recording the visit (``case_visit_record``), a legal task by referring the case
(``case_legal_refer``); the flow's steps."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils.translation import gettext as _
from viewflow.workflow.models import Process
from viewflow.workflow.status import STATUS

from collection.models import (
    ActionKind, CaseStatus, CollectionCase, LegalReferral, LegalReferralStatus, StrategyStep,
)
from collection.services.agencies import case_reassign
from collection.services.fieldwork import legal_referral_request, visit_record
from creditfactory.organisations.models import WorkGroup

from .dispatch import dispatch_pick
from .flow_steps import set_actor

__all__ = ["case_legal_refer", "case_open_task", "case_visit_record", "collection_flows_sync",
           "collection_task_complete", "collection_task_reassign", "task_kind"]

HUMAN = [ActionKind.CALL, ActionKind.VISIT, ActionKind.LEGAL]
# the flow's node for each human step (a call is the generic "work" task)
TASK_KINDS = {ActionKind.CALL: "work", ActionKind.VISIT: "visit", ActionKind.LEGAL: "legal"}


def _flow():
    from ..collection_flows import CollectionFlow

    return CollectionFlow


def _step_kind(case_id: int) -> str | None:
    return (StrategyStep.objects.filter(version__cases__pk=case_id, seq=Subquery(
        CollectionCase.objects.filter(pk=case_id).values("step")[:1])).values_list("kind", flat=True).first())


def _running(case_ids) -> set[int]:
    return {int(v) for v in Process.objects.filter(flow_class=_flow(), status=STATUS.NEW,
                                                   data__case_id__in=list(case_ids))
            .values_list("data__case_id", flat=True)}


def collection_flows_sync(*, limit: int = 5000) -> int:
    """Start a ``CollectionFlow`` for each open case at a human step with a work group and no
    process running (not at a legal step once the case is referred). Returns how many started."""
    kind = StrategyStep.objects.filter(version_id=OuterRef("strategy_version_id"), seq=OuterRef("step"),
                                       kind__in=HUMAN)
    legal = StrategyStep.objects.filter(version_id=OuterRef("strategy_version_id"), seq=OuterRef("step"),
                                        kind=ActionKind.LEGAL)
    referred = LegalReferral.objects.filter(case_id=OuterRef("pk"), status__in=[LegalReferralStatus.REQUESTED,
                                                                                 LegalReferralStatus.APPROVED])
    cases = list(CollectionCase.objects.filter(status=CaseStatus.OPEN, work_group__isnull=False)
                 .filter(Exists(kind)).exclude(Exists(legal) & Exists(referred)).order_by("id")[:limit])
    running = _running(case.pk for case in cases)
    started = 0
    for case in cases:
        if case.pk in running:
            continue
        _flow().start.run(case=case)
        started += 1
    return started


def case_open_task(case: CollectionCase):
    process = Process.objects.filter(flow_class=_flow(), status=STATUS.NEW, data__case_id=case.pk).first()
    if process is None:
        return None
    return process.task_set.filter(status__in=[STATUS.NEW, STATUS.ASSIGNED]).first()


def collection_task_complete(*, case: CollectionCase, actor, kind: str | None = None):
    """The collector is done with this round of the case: the task completes and the flow goes
    on (a new task while the case is still at a human step, else the end). With ``kind`` (work,
    visit, legal) only a task of that kind is completed."""
    task = case_open_task(case)
    if task is None or (kind is not None and task.flow_task.name != kind):
        raise ValidationError({"task": [_("No collection task is open on this case.")]})
    flow_class = _flow()
    with flow_class.lock(task.process_id), transaction.atomic():
        task.refresh_from_db()
        node = task.flow_task
        activation = node.activation_class(task)
        if task.status == STATUS.NEW:
            if not node.can_assign(actor, task):
                raise PermissionDenied(_("You do not work on this task's queue."))
            activation.assign(actor)
        if not node.can_execute(actor, task):
            raise PermissionDenied(_("The task is assigned to %(user)s.") % {"user": task.owner})
        activation.start(None)
        activation.execute()
    return task


def _complete_open(case: CollectionCase, *, actor, kind: str) -> None:
    task = case_open_task(case)
    if task is not None and task.flow_task.name == kind:
        collection_task_complete(case=case, actor=actor, kind=kind)


def case_visit_record(*, case: CollectionCase, result: str, notes: str = "", actor):
    """Record a field visit (compliance enforced: ``ContactRefused``) and complete the case's open
    field-visit task, if any."""
    visit = visit_record(case=case, result=result, notes=notes, actor=actor)
    _complete_open(case, actor=actor, kind="visit")
    return visit


def case_legal_refer(*, case: CollectionCase, reason: str, actor):
    """Refer the case to legal (a lead approves it) and complete its open legal task, if any:
    the flow ends while the referral is pending or approved."""
    referral = legal_referral_request(case=case, reason=reason, actor=actor)
    _complete_open(case, actor=actor, kind="legal")
    return referral


# --- the flow's steps -----------------------------------------------------------------------------


def step_start(activation, *, case: CollectionCase, actor=None) -> None:
    process = activation.process
    case = CollectionCase.objects.select_related("loan").get(pk=case.pk)
    process.data = {"case_id": case.pk, "loan_id": case.loan_id, "loan_number": case.loan.number,
                    "bucket": case.bucket, "step": case.step, "work_group": case.work_group_id}
    set_actor(process, actor=actor, actor_label="" if actor else "system")
    process.artifact = case


def work_group_of(process) -> WorkGroup | None:
    case = CollectionCase.objects.filter(pk=(process.data or {}).get("case_id")).select_related("work_group").first()
    return case.work_group if case else None


def dispatch_work(activation):
    """The case's own collector when set (a lead reassigned it), else the work group's policy."""
    case = CollectionCase.objects.select_related("collector", "work_group").get(pk=activation.process.data["case_id"])
    if case.collector_id and case.collector.is_active:
        return case.collector
    return dispatch_pick(case.work_group) if case.work_group_id else None


def task_kind(process) -> str:
    """The node of the next task: the strategy step in force's kind (a call when unknown)."""
    return TASK_KINDS.get(_step_kind(process.data["case_id"]), "work")


def still_human(process) -> bool:
    case = CollectionCase.objects.filter(pk=process.data["case_id"]).first()
    if not (case and case.status == CaseStatus.OPEN and case.work_group_id):
        return False
    kind = _step_kind(case.pk)
    if kind == ActionKind.LEGAL and case.legal_referrals.filter(
            status__in=[LegalReferralStatus.REQUESTED, LegalReferralStatus.APPROVED]).exists():
        return False  # with legal now
    return kind in HUMAN


def case_url(case_id: int) -> str:
    return reverse("collection:cases:detail", args=[case_id])


def collection_task_reassign(*, case: CollectionCase, to_user, actor) -> CollectionCase:
    """A lead gives a case (and its open task) to another member of the work group."""
    case = case_reassign(case=case, actor=actor, collector=to_user)
    task = case_open_task(case)
    if task is not None and task.owner_id != to_user.pk:
        with task.flow_task.flow_class.lock(task.process_id), transaction.atomic():
            task.refresh_from_db()
            activation = task.flow_task.activation_class(task)
            if task.status == STATUS.NEW:
                activation.assign(to_user)
            else:
                activation.reassign(user=to_user)
    return case
