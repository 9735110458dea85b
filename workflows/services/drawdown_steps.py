"""The steps the drawdown flow's nodes take (``workflows.drawdown_flows``), called under the
process lock: what changes state. What the flow decides on is read by
``workflows.selectors.drawdowns``.

Each step keeps ``Drawdown.status`` in step with the flow through ``change_state`` (so every move
is logged), writes what later nodes decide on into ``process.data`` and tells the partner
(``webhook_emit``) in the same transaction. The money moves are the servicing services': the
reservation (``servicing.services.drawdowns``), funding routing and quotas
(``servicing.services.funding``), the payment channel (``servicing.services.payments``) and the
loan on the ledger (``servicing.services.loans``). The in-loan check is risk's
(``risk.services.inloan.drawdown_check``).

Booking (``step_book``) is one transaction — the flow's round: the reservation posted as used,
the funder quotas posted, the loan and its journal entries, the drawdown ``disbursed`` and the
webhooks. Each part is idempotent on its own (the reservation moves held → posted once, the
loan is one per drawdown, journal entries are one per reference), so a settlement delivered
twice books once.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.texts import stored_text
from creditfactory.core.state import change_state, change_state_where
from creditfactory.core.tasks import follow_up_on_commit
from creditfactory.partners.services.webhooks import webhook_emit
from risk.requests import DrawdownCheckRequest
from risk.services.inloan import drawdown_check
from servicing.fastpath import DRAWDOWN_TO_CHECK, drawdown_funding
from servicing.locks import drawdown_lock
from servicing.models import DRAWDOWN_MACHINE, Drawdown, DrawdownStatus
from servicing.services.calendar import business_date
from servicing.services.drawdowns import drawdown_fail, drawdown_line_post, drawdown_reject
from servicing.services.funding import funding_post, funding_route
from servicing.services.loans import loan_book

from ..drawdown_jobs import drawdown_disbursement_send
from ..locks import round_cached, round_memo, round_process_data_save
from ..models.configuration import DRAWDOWN_FLOW, TaskSla
from ..selectors.drawdowns import four_eyes_excluded, review_config, review_work_group
from .configuration import node_config_snapshot
from .dispatch import dispatch_pick

S = DrawdownStatus

__all__ = [
    "drawdown_payload", "emit", "dispatch_review", "step_book", "step_check", "step_check_done",
    "step_check_failed", "step_check_started", "step_disburse", "step_fail", "step_reject", "step_review_created",
    "step_route", "step_start",
]


def _optional(module: str, name: str):
    """The line-change service by name, or None while that part of issue 15 is not merged."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


# --- helpers ---------------------------------------------------------------------------------------


def drawdown_payload(drawdown: Drawdown) -> dict:
    """What the partner's webhooks carry: the drawdown as ``GET /api/v1/drawdowns/{id}`` names it."""
    # Only a disbursed drawdown has a loan (booked in the round that disburses it).
    loan_id = drawdown.loan.pk if drawdown.status == S.DISBURSED and _has_loan(drawdown) else None
    return {"id": drawdown.pk, "number": drawdown.number, "status": drawdown.status,
            "amount": f"{drawdown.amount:.2f}", "credit_line": drawdown.credit_line_id,
            "external_reference": drawdown.external_reference, "loan": loan_id,
            "reasons": [r.get("text", "") for r in drawdown.reasons]}


def _has_loan(drawdown) -> bool:
    try:
        return drawdown.loan is not None
    except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist: not booked yet
        return False


def emit(drawdown: Drawdown, *, event: str) -> None:
    """The partner's webhook, in the transaction of the change (back-office drawdowns have none)."""
    if drawdown.partner_id:
        webhook_emit(partner=drawdown.partner, event=event, payload=drawdown_payload(drawdown))


def _drawdown(process) -> Drawdown:
    """The drawdown's row, locked; read once per locked round (``workflows.locks.round_cached``):
    the round's later steps get the same instance, which holds the round's own changes."""
    drawdown_id = process.data["drawdown_id"]
    return round_cached(("drawdown", drawdown_id), lambda: drawdown_lock(drawdown_id=drawdown_id))


def _actor(process):
    current = (process.data or {}).get("actor") or {}
    user = get_user_model().objects.filter(pk=current["id"]).first() if current.get("id") else None
    return user, "" if user else (current.get("label") or "system")


def _move(drawdown: Drawdown, *, to_state: str, reason: str, process=None, extra_update_fields=()) -> None:
    user, label = _actor(process) if process is not None else (None, "system")
    change_state(drawdown, to_state=to_state, machine=DRAWDOWN_MACHINE, actor=user, actor_label=label,
                 reason=reason, extra_update_fields=extra_update_fields)


def dispatch_review(activation):
    """Who gets the review task: the node's fixed assignee unless four-eyes excludes them, else the
    work group's policy (claim → nobody: the task waits in the queue)."""
    process = activation.process
    excluded = four_eyes_excluded(process)
    assignee_id = review_config(process).get("assignee")
    if assignee_id and assignee_id not in excluded:
        assignee = get_user_model().objects.filter(pk=assignee_id, is_active=True).first()
        if assignee is not None:
            return assignee
    work_group = review_work_group(process)
    return dispatch_pick(work_group, excluded=excluded) if work_group is not None else None


# --- the steps -------------------------------------------------------------------------------------


def step_start(activation, *, drawdown: Drawdown, actor=None, actor_label: str = "") -> None:
    process = activation.process
    user_id = getattr(actor, "pk", None)
    process.data = {
        "drawdown_id": drawdown.pk, "number": drawdown.number, "amount": f"{drawdown.amount:.2f}",
        "entered_by": drawdown.entered_by_id, "review_required": drawdown.review_required,
        "config": node_config_snapshot(drawdown.product_version.product, flow=DRAWDOWN_FLOW), "actions": [],
        "actor": {"id": user_id, "label": "" if user_id else (actor_label or "system")},
    }
    process.artifact = drawdown
    if user_id:
        activation.task.owner = actor


# The check's outcome on the drawdown, written by the routing move of the same round when the
# check passed or referred (``step_check_done``); the drawdowns whose outcome is still to write.
_CHECK_FIELDS = ("check_outcome", "check_reference")
_CHECK_PENDING = "drawdown_check_pending"


def step_check_started(activation) -> None:
    change_state_where(Drawdown, activation.process.data["drawdown_id"], from_state=S.REQUESTED,
                       to_state=S.CHECKING, machine=DRAWDOWN_MACHINE, actor_label="system",
                       reason=stored_text(gettext_noop("In-loan risk check started.")))


def step_check(activation, *, attempt: int) -> dict:
    """The in-loan check (贷中支用审核), on the worker with no lock held: the product's in-loan
    rule set with refreshed data. A product without one passes."""
    drawdown_id = activation.process.data["drawdown_id"]
    drawdown = DRAWDOWN_TO_CHECK.get(drawdown_id)  # with its product version, one prebuilt statement
    if drawdown is None:
        raise Drawdown.DoesNotExist(f"No drawdown {drawdown_id}.")
    request = DrawdownCheckRequest(
        applicant_id=drawdown.applicant_id, product_id=drawdown.product_version.product_id, amount=drawdown.amount,
        drawdown_reference=drawdown.number, line_id=drawdown.credit_line_id,
        product_version_id=drawdown.product_version_id, term=drawdown.term, term_unit=drawdown.term_unit,
        purpose=drawdown.purpose, channel=drawdown.channel)
    result = drawdown_check(request=request)
    return {"outcome": result.outcome, "reasons": [str(r) for r in result.reasons], "reference": result.reference,
            "codes": list(result.reason_codes)}


def step_check_done(activation, *, result: dict) -> None:
    process = activation.process
    process.data["check"] = result
    round_process_data_save(process)
    drawdown = _drawdown(process)
    drawdown.check_outcome, drawdown.check_reference = result["outcome"], result.get("reference", "")[:40]
    memo = round_memo()
    if result["outcome"] in ("reject", "freeze") or memo is None:
        drawdown.save(update_fields=[*_CHECK_FIELDS, "updated_at"])
    else:
        # The check passed or referred: the next node in this round is ``route``, whose move to
        # routing writes the outcome with it (one UPDATE).
        memo.setdefault(_CHECK_PENDING, set()).add(drawdown.pk)
    if result["outcome"] == "freeze":
        _freeze_line(drawdown, reasons=result.get("reasons") or [])


def _freeze_line(drawdown: Drawdown, *, reasons: list[str]) -> None:
    """An in-loan rule that freezes the line: a freeze through the line-change flow (issue 15 §2)."""
    request = _optional("workflows.services.line_changes", "line_change_submit") or _optional(
        "servicing.services.lines", "line_change_request")
    if request is None:
        return
    request(line=drawdown.credit_line, kind="freeze", reason="; ".join(reasons) or _("In-loan risk rule."),
            actor=None, source="rule")


def step_check_failed(activation) -> None:
    """The check could not run (a data source down for good): refer to the reviewer."""
    process = activation.process
    process.data["check"] = {"outcome": "refer", "reasons": [_("The in-loan check could not run.")],
                             "reference": "", "codes": ["CHECK_FAILED"]}
    round_process_data_save(process)


def step_route(activation) -> None:
    """Funding routing (资金路由): a funder or co-lending pair takes the drawdown's quota, or none
    can (awaiting funding; rejected once it waited the configured time)."""
    process = activation.process
    drawdown = _drawdown(process)
    memo = round_memo()
    pending = memo.get(_CHECK_PENDING, set()) if memo is not None else set()
    check_fields = _CHECK_FIELDS if drawdown.pk in pending else ()
    pending.discard(drawdown.pk)
    if drawdown.status in (S.CHECKING, S.AWAITING_FUNDING):
        _move(drawdown, to_state=S.ROUTING, reason=stored_text(gettext_noop("Funding routing.")), process=process,
              extra_update_fields=check_fields)
    elif check_fields:
        drawdown.save(update_fields=[*check_fields, "updated_at"])
    if process.data.pop("funding_timed_out", False):
        process.data["routing"] = "timed_out"
        round_process_data_save(process)
        return
    outcome = funding_route(drawdown=drawdown)
    if outcome.funded:
        process.data["routing"] = "funded"
    else:
        process.data["routing"] = "unfunded"
        if drawdown.awaiting_funding_since is None:
            drawdown.awaiting_funding_since = timezone.now()
        _move(drawdown, to_state=S.AWAITING_FUNDING,
              reason=stored_text(gettext_noop("No funder can take the drawdown now.")),
              process=process, extra_update_fields=("awaiting_funding_since",))
    round_process_data_save(process)
    if process.data["routing"] == "funded" and not _review_ahead(process):
        _approved(drawdown, process=process)


def _review_ahead(process) -> bool:
    from ..selectors.drawdowns import needs_review

    return needs_review(process)


def _approved(drawdown: Drawdown, *, process) -> None:
    emit(drawdown, event="drawdown.approved")


def step_review_created(activation) -> None:
    process, task = activation.process, activation.task
    drawdown = _drawdown(process)
    _move(drawdown, to_state=S.REVIEWING, reason=stored_text(gettext_noop("Disbursement review.")), process=process)
    if task.owner_id and task.assigned is None:
        task.assigned = timezone.now()
        task.save(update_fields=["assigned"])
    config = review_config(process)
    if config.get("sla_hours"):  # the review node's SLA: escalated by the beat job like the credit flow's
        TaskSla.objects.create(task_id=task.pk, drawdown=drawdown, branch_id=drawdown.branch_id, node="review",
                               work_group_id=config.get("work_group"), sla_hours=config["sla_hours"],
                               due_at=task.created + timedelta(hours=config["sla_hours"]))


def step_disburse(activation) -> None:
    """Disbursing: once this round commits (the flow then waits at ``settle``), the task
    ``workflows.drawdown_disbursement_send`` asks the channel to pay — outside the process lock,
    and safe to run again (one disbursement per drawdown, its reference the channel's idempotency
    key). On a worker (the in-loan check job's round) it runs right after the commit in the same
    task (``follow_up_on_commit``); from a web request (the reviewer's approval) it is queued.
    The confirmation resumes ``settle``; the disbursement sweep (beat) sends one never sent and
    queries one whose confirmation is overdue."""
    process = activation.process
    drawdown = _drawdown(process)
    if drawdown.status == S.REVIEWING:
        _approved(drawdown, process=process)
    _move(drawdown, to_state=S.DISBURSING, reason=stored_text(gettext_noop("Disbursement sent to the payment channel.")),
          process=process)
    follow_up_on_commit(drawdown_disbursement_send, drawdown.pk)


def step_book(activation) -> None:
    """The money is paid: post the reservation, the funder quotas, book the loan and its journal
    entries, mark the drawdown disbursed and tell the partner — in this one transaction."""
    process = activation.process
    drawdown = _drawdown(process)
    if drawdown.status == S.DISBURSED:
        return
    drawdown_line_post(drawdown=drawdown)
    funding = drawdown_funding(drawdown.pk)  # read once (prebuilt): posted, then booked
    funding_post(drawdown=drawdown, reason=stored_text(gettext_noop("Disbursement confirmed.")), funding=funding)
    drawdown.value_date = business_date()  # saved with the move below, in this transaction
    # _drawdown(): the row locked this round, and not disbursed (above): no loan yet.
    loan = loan_book(drawdown=drawdown, drawdown_locked=True, funding=funding)
    _move(drawdown, to_state=S.DISBURSED, reason=stored_text(gettext_noop("Paid out; loan booked.")), process=process,
          extra_update_fields=("value_date",))
    emit(drawdown, event="drawdown.disbursed")
    if drawdown.partner_id:
        webhook_emit(partner=drawdown.partner, event="loan.booked",
                     payload={"id": loan.pk, "number": loan.number, "drawdown": drawdown.pk,
                              "credit_line": drawdown.credit_line_id, "principal": f"{loan.principal:.2f}",
                              "value_date": loan.value_date.isoformat()})


def step_fail(activation) -> None:
    process = activation.process
    failure = (process.data or {}).get("failure") or {}
    reason = failure.get("message") or _("The payment channel could not pay the borrower's account.")
    drawdown = drawdown_fail(drawdown=Drawdown(pk=process.data["drawdown_id"]), reason=reason,
                             code=failure.get("code") or "disbursement_failed", actor_label="system")
    emit(drawdown, event="drawdown.failed")


def step_reject(activation) -> None:
    process = activation.process
    data = process.data or {}
    check = data.get("check") or {}
    if data.get("routing") == "timed_out":
        code, reason = "no_funding", _("No funder could take the drawdown in time.")
    elif check.get("outcome") in ("reject", "freeze"):
        code, reason = "in_loan_check", "; ".join(check.get("reasons") or []) or _("The in-loan risk check refused.")
    else:
        actions = data.get("actions") or []
        code, reason = "review", (actions[-1].get("reason") if actions else "") or _("Rejected by the reviewer.")
    user, label = _actor(process)
    drawdown = drawdown_reject(drawdown=Drawdown(pk=data["drawdown_id"]), reason=reason, code=code, actor=user,
                               actor_label=label)
    emit(drawdown, event="drawdown.rejected")
