"""Writes of drawdowns that move their flow (``workflows.drawdown_flows.DrawdownFlow``), called by
the partner API, the back office and Celery tasks alike:

* ``drawdown_request`` — create the drawdown (``servicing.services.drawdowns.drawdown_create``:
  terms, the line's state and balance, the reservation) and start its flow, one transaction;
  the in-loan check is queued on commit.
* ``drawdown_withdraw`` — cancel before disbursement (afterwards 409): the reservation and funder
  quotas are released and the flow cancelled.
* ``drawdown_stop`` — reject one before disbursement (an in-loan warning), the flow cancelled.
* ``drawdown_review`` — the disbursement reviewer (放款审核) approves or rejects; four-eyes
  against whoever entered the drawdown.
* ``drawdown_settled`` — the payment channel confirmed (paid or failed): resumes the flow,
  which books the loan or fails the drawdown. Safe to call any number of times.
* ``drawdown_funding_retry`` — the beat job: route the drawdowns awaiting funding again, and
  reject those that waited longer than ``DRAWDOWN_FUNDING_TIMEOUT_HOURS``.
* ``drawdown_disbursements_sweep`` — the beat job for drawdowns stuck in ``disbursing``: a
  disbursement never sent (the worker died first) is sent again, one whose confirmation is
  overdue (``PaymentChannel.confirm_timeout_seconds``) is asked for by status query, and one
  settled whose flow did not move (the settlement task was lost) is settled now.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import PROCESS, STATUS

from servicing.models import Disbursement, DisbursementStatus, Drawdown, DrawdownStatus
from servicing.services.drawdowns import DrawdownRefused, drawdown_cancel, drawdown_create_in, drawdown_reject
from servicing.services.payments import disbursement_query, disbursement_send

from ..drawdown_flows import DrawdownFlow
from ..fastpath import process_data_save
from ..locks import round_process_data_save
from ..selectors.drawdowns import (
    drawdown_disbursement,
    drawdown_open_task,
    drawdown_open_task_of,
    drawdown_process,
    drawdown_process_id,
    four_eyes_excluded,
)
from .drawdown_steps import emit

S = DrawdownStatus

__all__ = ["drawdown_disbursements_sweep", "drawdown_funding_retry", "drawdown_request", "drawdown_review",
           "drawdown_settled", "drawdown_stop", "drawdown_withdraw"]


def _error(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def drawdown_request(*, line, data: dict, partner=None, actor=None, actor_label: str = "") -> Drawdown:
    """Create a drawdown on ``line`` and start its flow (see the module docstring).

    In the caller's transaction (one if there is none) with no savepoint: every refusal of
    ``drawdown_create_in`` comes before anything is written, and is raised here after the block,
    so a caller that catches it can go on in its transaction."""
    refusal = None
    with transaction.atomic(savepoint=False):
        try:
            drawdown = drawdown_create_in(line=line, data=data, partner=partner, actor=actor, actor_label=actor_label)
        except (ValidationError, DrawdownRefused) as exc:
            refusal = exc  # nothing written
        else:
            DrawdownFlow.start.run(drawdown=drawdown, actor=actor, actor_label=actor_label)
    if refusal is not None:
        raise refusal
    return drawdown


def _locked_process(drawdown):
    """The drawdown's process, for ``with DrawdownFlow.lock(process.pk)``."""
    process = drawdown_process(drawdown)
    if process is None:
        raise _error("status", _("Drawdown %(number)s has no flow.") % {"number": drawdown.number})
    return process


def drawdown_withdraw(*, drawdown: Drawdown, reason: str = "", actor=None, actor_label: str = "") -> Drawdown:
    """Cancel before disbursement: reservation and quotas released, the flow cancelled."""
    process = drawdown_process(drawdown)
    with (DrawdownFlow.lock(process.pk) if process is not None else transaction.atomic()), transaction.atomic():
        drawdown = drawdown_cancel(drawdown=drawdown, reason=reason, actor=actor, actor_label=actor_label)
        if process is not None:
            process.refresh_from_db()
            if process.status == PROCESS.NEW:
                DrawdownFlow.instance.cancel(process)
        emit(drawdown, event="drawdown.cancelled")
    return drawdown


def drawdown_stop(*, drawdown: Drawdown, reason: str, code: str = "warning", actor=None,
                  actor_label: str = "") -> Drawdown:
    """Reject a drawdown that has not reached disbursement (an in-loan warning stops the
    borrower's pending drawdowns, ``workflows.list_entry_recheck``): the reservation and quotas
    released, the flow cancelled, ``drawdown.rejected`` sent. A drawdown past that point is
    left to finish (409 ``drawdown_closed``)."""
    process = drawdown_process(drawdown)
    with (DrawdownFlow.lock(process.pk) if process is not None else transaction.atomic()), transaction.atomic():
        drawdown = drawdown_reject(drawdown=drawdown, reason=reason, code=code, actor=actor, actor_label=actor_label)
        if process is not None:
            process.refresh_from_db()
            if process.status == PROCESS.NEW:
                DrawdownFlow.instance.cancel(process)
        emit(drawdown, event="drawdown.rejected")
    return drawdown


def drawdown_review(*, drawdown: Drawdown, actor, action: str, reason: str = "") -> Drawdown:
    """The disbursement reviewer approves (→ disbursement) or rejects (→ released). Staff only;
    the person who entered the drawdown may not review it."""
    if not getattr(actor, "pk", None):
        raise PermissionDenied(_("Only staff can review drawdowns."))
    if action not in ("approve", "reject"):
        raise _error("action", _("Choose approve or reject."))
    reason = (reason or "").strip()
    if action == "reject" and not reason:
        raise _error("reason", _("Give the reason for rejecting."))
    if not actor.has_perm("servicing.review_drawdown"):
        raise PermissionDenied(_("You may not review drawdowns."))
    process = _locked_process(drawdown)
    with DrawdownFlow.lock(process.pk), transaction.atomic():
        task = drawdown_open_task(process, name="review")
        if task is None:
            raise _error("status", _("Drawdown %(number)s has no disbursement review waiting.")
                         % {"number": drawdown.number})
        process = task.process
        if actor.pk in four_eyes_excluded(process):
            raise _error("actor", _("Four-eyes: the reviewer cannot be the person who entered this drawdown."))
        flow_task = task.flow_task
        activation = flow_task.activation_class(task)
        if task.status == STATUS.NEW:
            if not flow_task.can_assign(actor, task):
                raise PermissionDenied(_("You do not work on this task's queue."))
            activation.assign(actor)
        if not flow_task.can_execute(actor, task):
            raise PermissionDenied(_("The task is assigned to %(user)s.") % {"user": task.owner})
        Drawdown.objects.filter(pk=drawdown.pk).update(reviewed_by=actor, updated_at=timezone.now())
        process.data.setdefault("actions", []).append(
            {"node": "review", "action": action, "by": actor.pk, "at": timezone.now().isoformat(), "reason": reason})
        process.data["actor"] = {"id": actor.pk, "label": ""}
        process_data_save(process)
        activation.start(None)
        activation.execute()
    return Drawdown.objects.get(pk=drawdown.pk)


def drawdown_settled(*, drawdown_id: int) -> bool:
    """The disbursement of ``drawdown_id`` is paid or failed (the payment channel's confirmation):
    the flow books the loan or fails the drawdown. True when this call moved the flow; False when
    there was nothing to do (already settled, or not confirmed yet) — a replay changes nothing.

    The waiting ``settle`` task is resumed in this locked round, as ``Handle.run`` would resume
    it (start, then execute), without taking the lock a second time and reading the task again."""
    process_id = drawdown_process_id(drawdown_id)
    if process_id is None:
        return False
    # The lock's own transaction (viewflow's lock is an atomic block): no savepoint inside it.
    with DrawdownFlow.lock(process_id), transaction.atomic(savepoint=False):
        task = drawdown_open_task_of(process_id, name="settle")
        if task is None:
            return False
        disbursement = drawdown_disbursement(drawdown_id)
        if disbursement is None or disbursement.status not in (DisbursementStatus.PAID, DisbursementStatus.FAILED):
            return False
        process = task.process
        process.data["settled"] = disbursement.status
        if disbursement.status == DisbursementStatus.FAILED:
            process.data["failure"] = {"code": disbursement.failure_code or "disbursement_failed",
                                       "message": disbursement.failure_message}
        process.data["actor"] = {"id": None, "label": "system"}
        round_process_data_save(process)  # with the round's other changes, or by the End's save
        activation = task.flow_task.activation_class(task)
        activation.run(None)
        activation.execute()
    return True


def drawdown_funding_retry(*, now=None) -> dict:
    """Route every drawdown awaiting funding again; one that waited past
    ``DRAWDOWN_FUNDING_TIMEOUT_HOURS`` is rejected and released. Each drawdown in a transaction
    of its own; one being moved by someone else is left for the next run."""
    now = now or timezone.now()
    deadline = now - timedelta(hours=settings.DRAWDOWN_FUNDING_TIMEOUT_HOURS)
    counts = {"routed": 0, "rejected": 0, "busy": 0}
    for drawdown in Drawdown.objects.filter(status=S.AWAITING_FUNDING).order_by("pk"):
        process = drawdown_process(drawdown)
        if process is None:
            continue
        try:
            with DrawdownFlow.lock(process.pk), transaction.atomic():
                task = drawdown_open_task(process, name="await_funding")
                if task is None:
                    continue
                process = task.process
                timed_out = drawdown.awaiting_funding_since is not None and drawdown.awaiting_funding_since <= deadline
                if timed_out:
                    process.data["funding_timed_out"] = True
                process.data["actor"] = {"id": None, "label": "system"}
                process_data_save(process)
                task.flow_task.run(task)
                counts["rejected" if timed_out else "routed"] += 1
        except FlowLockFailed:
            counts["busy"] += 1
    return counts


def drawdown_disbursements_sweep(*, now=None) -> dict:
    """The beat job over drawdowns in ``disbursing`` (see the module docstring). Every call it
    makes is idempotent, so two sweeps, or a sweep racing a late callback, pay and book once."""
    now = now or timezone.now()
    counts = {"sent": 0, "queried": 0, "settled": 0}
    for drawdown in Drawdown.objects.filter(status=S.DISBURSING).select_related("applicant").order_by("pk"):
        disbursement = Disbursement.objects.filter(drawdown=drawdown).select_related("channel").first()
        if disbursement is None or disbursement.status == DisbursementStatus.PREPARED:
            disbursement_send(drawdown=drawdown)
            counts["sent"] += 1
            continue
        if disbursement.status == DisbursementStatus.SENT:
            overdue = disbursement.sent_at is None or (
                disbursement.sent_at + timedelta(seconds=disbursement.channel.confirm_timeout_seconds) <= now)
            if overdue:
                disbursement_query(disbursement=disbursement)
                counts["queried"] += 1
            continue
        # Paid or failed, and the drawdown still disbursing: the settlement task never ran.
        try:
            if drawdown_settled(drawdown_id=drawdown.pk):
                counts["settled"] += 1
        except FlowLockFailed:
            continue
    return counts
