"""Disbursement (放款), exactly once: send a drawdown's payment through the payment channel, take its
confirmation from a signed callback or a status query, and tell the drawdown flow.

One ``Disbursement`` per drawdown; its ``reference`` is unique and is the channel's idempotency
key, so a send retried after a crash, a timeout or a task redelivery carries the same reference
and the channel pays it once. ``disbursement_confirm`` moves prepared/sent → paid/failed under
the disbursement's row lock; a confirmation of a settled disbursement (a replayed callback, a
query after the callback) is recorded as a duplicate event and changes nothing. On the move, once
the transaction commits, the task named by ``settings.SERVICING_DISBURSEMENT_SETTLED_TASK`` runs
with ``drawdown_id`` (looked up by name: servicing never imports workflows). Every exchange with
the channel is a ``DisbursementEvent``."""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from django.contrib.contenttypes.models import ContentType

from creditfactory.core.models import StateTransition
from creditfactory.core.state import IllegalTransition, change_state, record_transition
from creditfactory.core.tasks import follow_up_on_commit
from servicing.channels import ChannelTimeout, ChannelUnavailable, PaymentOrder, provider_for
from servicing.channels.signing import signature_valid
from servicing import fastpath
from servicing.fastpath import CHANNEL_BY_CODE, DISBURSEMENT_OF_DRAWDOWN
from servicing.locks import disbursement_lock
from servicing.models import (
    DISBURSEMENT_MACHINE, Disbursement, DisbursementEvent, DisbursementEventKind, DisbursementStatus, PaymentChannel,
)

__all__ = [
    "CallbackInvalid", "CallbackRefused", "DisbursementUnknown", "disbursement_confirm", "disbursement_query",
    "disbursement_reference", "disbursement_send", "payment_callback_receive",
]

logger = logging.getLogger(__name__)
_S = DisbursementStatus
_K = DisbursementEventKind
SETTLED = frozenset({_S.PAID, _S.FAILED})
DEFAULT_SETTLED_TASK = "workflows.drawdown_disbursement_settled"
DEFAULT_CALLBACK_TOLERANCE_S = 300


class DisbursementUnknown(Exception):
    """No disbursement has this reference."""


class CallbackRefused(Exception):
    """Unsigned, forged or stale callback (HTTP 401): nothing changed."""


class CallbackInvalid(Exception):
    """A correctly signed callback whose body is not understood (HTTP 400): ``errors`` by field."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__(errors)


REFERENCE_PREFIX = "PAY-"  # a scheduled debit's reference never starts so (``DEBIT-…``)


def disbursement_reference(drawdown) -> str:
    return f"{REFERENCE_PREFIX}{drawdown.number}"


def _channel() -> PaymentChannel:
    code = getattr(settings, "SERVICING_PAYMENT_CHANNEL", "")
    if fastpath.fused():
        channel = fastpath.payment_channel_active(code)  # one prebuilt statement
    else:
        channels = PaymentChannel.objects.filter(active=True)
        channel = (channels.filter(code=code).first() if code else None) or channels.order_by("code").first()
    if channel is None:
        raise PaymentChannel.DoesNotExist(_("No active payment channel is configured."))
    return channel


def _event(disbursement, kind: str, *, result: str = "", payload: dict | None = None, duplicate: bool = False):
    return DisbursementEvent.objects.create(disbursement=disbursement, kind=kind, result=result,
                                            payload=payload or {}, duplicate=duplicate)


def _log(model, *, from_state: str, to_state: str, actor_label: str, reason: str = "") -> StateTransition:
    """The state log row of a disbursement's move, as ``record_transition`` writes it (no user
    acts on a disbursement); its ``object_id`` is filled by the statement that moves the row."""
    return StateTransition(content_type=ContentType.objects.get_for_model(model, for_concrete_model=True),
                           field="status", from_state=from_state, to_state=to_state, actor=None,
                           actor_label=actor_label, reason=reason)


def _prepare(drawdown, *, unless_exists: bool = False) -> Disbursement | None:
    """A new disbursement of ``drawdown``, prepared, in the caller's transaction (PostgreSQL: the
    row and its log entry in one statement). ``unless_exists`` (PostgreSQL): None, writing
    nothing, when the drawdown has its disbursement (or a concurrent transaction is inserting it:
    waited for); otherwise a unique violation raises ``IntegrityError``."""
    disbursement = Disbursement(drawdown=drawdown, channel=_channel(), reference=disbursement_reference(drawdown),
                                amount=drawdown.amount)
    if fastpath.fused():
        inserted = fastpath.insert_logged(disbursement, unless_exists=unless_exists, log=_log(
            Disbursement, from_state="", to_state=_S.PREPARED, actor_label="system"))
        return disbursement if inserted else None
    disbursement.save(force_insert=True)
    record_transition(disbursement, from_state="", to_state=_S.PREPARED, actor_label="system")
    return disbursement


def _event_and_move(disbursement, *, kind: str, result: str, payload: dict, to_state: str, actor_label: str,
                    reason: str = "", fields: dict) -> bool:
    """PostgreSQL, for a disbursement this transaction inserted or holds locked: the event, the
    move ``disbursement.status`` → ``to_state`` with ``fields`` and its log entry, in one
    statement (what ``_event`` then ``change_state`` write in three). Refuses an illegal move as
    ``change_state`` does. Sets the new values on ``disbursement``; True when it moved."""
    from_state = disbursement.status
    if not DISBURSEMENT_MACHINE.allows(from_state, to_state):
        raise IllegalTransition(disbursement, from_state, to_state)
    values = {"status": to_state, **fields, "updated_at": timezone.now()}
    event = DisbursementEvent(disbursement=disbursement, kind=kind, result=result, payload=payload or {})
    moved = fastpath.event_move_logged(
        event, Disbursement, disbursement.pk, field="status", from_state=from_state, values=values,
        log=_log(Disbursement, from_state=from_state, to_state=to_state, actor_label=actor_label, reason=reason))
    if moved:
        for name, value in values.items():
            setattr(disbursement, name, value)
    return moved


def disbursement_send(*, drawdown) -> Disbursement:
    """Pay ``drawdown`` through the payment channel. Idempotent: the first call prepares the
    disbursement, later calls find it; the channel is asked again only while no send was
    accepted (prepared, or sent but timed out) — always with the same reference
    (``PAY-<drawdown number>``, derived from the drawdown, never drawn at random), which the
    channel dedupes.

    The first call prepares the disbursement, asks the channel and records its answer in one
    transaction: a worker killed before its commit leaves nothing, and the redelivered task
    prepares the same reference again and asks again — the channel pays it once. A concurrent
    first call waits on the reference's unique index and then finds the disbursement. The
    transaction locks no row another transaction can see, so a callback enqueued by the channel
    runs after the "sent" event is committed."""
    if fastpath.fused():
        # no read first: the insert itself tells a first send (the reference's unique index decides)
        with transaction.atomic():
            disbursement = _prepare(drawdown, unless_exists=True)
            if disbursement is not None:
                return _send(disbursement, drawdown=drawdown, prepared_now=True)
        disbursement = DISBURSEMENT_OF_DRAWDOWN.get(drawdown.pk)  # with its channel, one prebuilt statement
    else:
        disbursement = DISBURSEMENT_OF_DRAWDOWN.get(drawdown.pk)
    if disbursement is None:
        try:
            with transaction.atomic():
                return _send(_prepare(drawdown), drawdown=drawdown, prepared_now=True)
        except IntegrityError:  # a concurrent send prepared it first (and has asked the channel)
            disbursement = Disbursement.objects.select_related("channel").get(drawdown=drawdown)
    if disbursement.status in SETTLED:
        return disbursement
    if disbursement.events.filter(kind=_K.SENT).exists():
        return disbursement  # accepted already: wait for the callback or query
    with transaction.atomic():
        return _send(disbursement, drawdown=drawdown, prepared_now=False)


def _send(disbursement, *, drawdown, prepared_now: bool) -> Disbursement:
    """Ask the channel and record its answer, in the caller's transaction. ``prepared_now``: the
    disbursement was inserted by this transaction, so its row needs no lock to be moved."""
    provider = provider_for(disbursement.channel)
    order = PaymentOrder(reference=disbursement.reference, amount=disbursement.amount,
                         account=drawdown.bank_account, account_name=drawdown.applicant.name)
    try:
        result = provider.send(order)
    except ChannelUnavailable as exc:
        _event(disbursement, _K.SEND_FAILED, result="unavailable", payload={"error": str(exc)})
        return disbursement
    except ChannelTimeout as exc:
        _event(disbursement, _K.SEND_FAILED, result="timeout", payload={"error": str(exc)})
        _mark_sent(disbursement, channel_reference="", prepared_now=prepared_now)
        return disbursement
    if not result.accepted:
        _event(disbursement, _K.SEND_FAILED, result="refused",
               payload={"failure_code": result.failure_code, "failure_message": result.failure_message})
        locked = disbursement if prepared_now else disbursement_lock(reference=disbursement.reference)
        if locked.status in SETTLED:
            return locked
        return _settle(locked, paid=False, channel_reference=result.channel_reference,
                       failure_code=result.failure_code, failure_message=result.failure_message, source="send")
    sent = "duplicate" if result.duplicate else "accepted"
    if prepared_now and fastpath.fused():  # inserted prepared by this transaction: the move cannot miss
        _event_and_move(disbursement, kind=_K.SENT, result=sent, payload={"channel_reference": result.channel_reference},
                        to_state=_S.SENT, actor_label="system",
                        fields={"sent_at": timezone.now(), "cost": disbursement.channel.cost_per_transaction,
                                "channel_reference": result.channel_reference or disbursement.channel_reference})
        return disbursement
    _event(disbursement, _K.SENT, result=sent, payload={"channel_reference": result.channel_reference})
    _mark_sent(disbursement, channel_reference=result.channel_reference, prepared_now=prepared_now)
    return disbursement


def _mark_sent(disbursement, *, channel_reference: str, prepared_now: bool = False) -> None:
    """prepared → sent (the channel may have the payment); the fee is charged once."""
    locked = disbursement if prepared_now else disbursement_lock(reference=disbursement.reference)
    if locked.status != _S.PREPARED:
        disbursement.refresh_from_db()
        return
    locked.sent_at = timezone.now()
    locked.cost = locked.channel.cost_per_transaction
    locked.channel_reference = channel_reference or locked.channel_reference
    change_state(locked, to_state=_S.SENT, machine=DISBURSEMENT_MACHINE, actor_label="system",
                 extra_update_fields=["sent_at", "cost", "channel_reference"])
    if locked is not disbursement:
        for field in ("status", "sent_at", "cost", "channel_reference", "updated_at"):  # as refresh_from_db would
            setattr(disbursement, field, getattr(locked, field))


def _dispatch_settled(drawdown_id: int) -> None:
    """After the commit of a settlement: the flow's task, run in line when the settlement was a
    worker's (the sandbox bank's callback task, a status query of the sweep), queued otherwise (a
    callback over HTTP). Lost (a worker killed in between), the disbursement sweep settles it."""
    from celery import current_app

    name = getattr(settings, "SERVICING_DISBURSEMENT_SETTLED_TASK", DEFAULT_SETTLED_TASK)
    task = current_app.tasks.get(name)
    if task is None:
        logger.warning("disbursement of drawdown %s settled; task %s is not registered", drawdown_id, name)
        return
    follow_up_on_commit(task, drawdown_id=drawdown_id)


def _settle(disbursement, *, paid: bool, channel_reference: str, failure_code: str, failure_message: str,
            source: str) -> Disbursement:
    """Move a locked, unsettled disbursement to paid or failed and, after commit, tell the flow."""
    disbursement.confirmed_at = timezone.now()
    disbursement.channel_reference = channel_reference or disbursement.channel_reference
    disbursement.failure_code = "" if paid else failure_code[:40]
    disbursement.failure_message = "" if paid else failure_message[:255]
    change_state(disbursement, to_state=_S.PAID if paid else _S.FAILED, machine=DISBURSEMENT_MACHINE,
                 actor_label=source, reason=disbursement.failure_message,
                 extra_update_fields=["confirmed_at", "channel_reference", "failure_code", "failure_message"])
    drawdown_id = disbursement.drawdown_id
    transaction.on_commit(lambda: _dispatch_settled(drawdown_id))
    return disbursement


@transaction.atomic
def disbursement_confirm(*, reference: str, paid: bool, channel_reference: str = "", failure_code: str = "",
                         failure_message: str = "", source: str = "callback", payload: dict | None = None,
                         channel: PaymentChannel | None = None) -> Disbursement:
    """The channel says the payment ``reference`` was paid (or failed). Idempotent: a settled
    disbursement records the confirmation as a duplicate event and changes nothing — a
    replayed callback, a query after the callback, a retried task. ``channel``: the channel that
    says so; a disbursement of another channel is unknown to it (``DisbursementUnknown``, nothing
    written)."""
    disbursement = disbursement_lock(reference=reference)
    if disbursement is None or (channel is not None and disbursement.channel_id != channel.pk):
        raise DisbursementUnknown(reference)
    kind = _K.QUERY if source == "query" else _K.CALLBACK
    result = _S.PAID if paid else _S.FAILED
    payload = payload or {"status": result, "channel_reference": channel_reference, "failure_code": failure_code,
                          "failure_message": failure_message}
    if disbursement.status in SETTLED:
        _event(disbursement, kind, result=result, payload=payload, duplicate=True)
        return disbursement
    if fastpath.fused():  # locked above and not settled: the event, the move and its log in one statement
        message = "" if paid else failure_message[:255]
        _event_and_move(disbursement, kind=kind, result=result, payload=payload, to_state=result,
                        actor_label=source, reason=message,
                        fields={"confirmed_at": timezone.now(),
                                "channel_reference": channel_reference or disbursement.channel_reference,
                                "failure_code": "" if paid else failure_code[:40], "failure_message": message})
        drawdown_id = disbursement.drawdown_id
        transaction.on_commit(lambda: _dispatch_settled(drawdown_id))
        return disbursement
    _event(disbursement, kind, result=result, payload=payload)
    return _settle(disbursement, paid=paid, channel_reference=channel_reference, failure_code=failure_code,
                   failure_message=failure_message, source=source)


def disbursement_query(*, disbursement) -> Disbursement:
    """Ask the channel for the status of an unconfirmed disbursement (its callback is overdue).
    Paid or failed → ``disbursement_confirm(source="query")``; pending or unknown → a query event
    only (unknown: the channel never received it — sending again with the same reference is
    safe)."""
    if disbursement.status in SETTLED:
        return disbursement
    answer = provider_for(disbursement.channel).query(disbursement.reference)
    if answer.status in SETTLED:
        return disbursement_confirm(
            reference=disbursement.reference, paid=answer.status == _S.PAID, channel_reference=answer.channel_reference,
            failure_code=answer.failure_code, failure_message=answer.failure_message, source="query")
    _event(disbursement, _K.QUERY, result=answer.status)
    return disbursement


def _refuse(*, channel_code: str, reason: str, reference: str = "") -> CallbackRefused:
    disbursement = Disbursement.objects.filter(reference=reference).first() if reference else None
    _event(disbursement, _K.CALLBACK_REFUSED, result=reason, payload={"channel": channel_code[:40],
                                                                      "reference": reference[:40]})
    return CallbackRefused(reason)


def _reference_in(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return ""
    return data.get("reference", "") if isinstance(data, dict) and isinstance(data.get("reference"), str) else ""


def payment_callback_receive(*, channel_code: str, body: bytes, timestamp: str, signature: str,
                             channel: PaymentChannel | None = None):
    """A channel's callback (``POST /api/v1/payments/callback``) for a disbursement — or for a
    scheduled debit (代扣), whose reference it names: then ``amount`` says what was collected and
    the repayment posts (``collection_callback``). Verified before anything is read from it: HMAC-SHA256 of ``<timestamp>.<body>`` with the channel's secret, the timestamp
    within ``SERVICING_CALLBACK_TOLERANCE_SECONDS`` (default 300). Refused (``CallbackRefused``)
    otherwise, with a refusal event and nothing else changed. ``channel``: the row of the channel
    ``channel_code`` names, when the caller has just read it (the sandbox bank's task)."""
    if channel is None or channel.code != channel_code:
        channel = CHANNEL_BY_CODE.get(channel_code) if channel_code else None
    if channel is None or not signature_valid(secret=channel.callback_secret, timestamp=timestamp, body=body,
                                              signature=signature):
        raise _refuse(channel_code=channel_code, reason="signature", reference=_reference_in(body))
    tolerance = getattr(settings, "SERVICING_CALLBACK_TOLERANCE_SECONDS", DEFAULT_CALLBACK_TOLERANCE_S)
    try:
        stale = abs(time.time() - int(timestamp)) > tolerance
    except ValueError:
        stale = True
    if stale:
        raise _refuse(channel_code=channel_code, reason="timestamp", reference=_reference_in(body))
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise CallbackInvalid({"non_field_errors": [_("The body is not JSON.")]}) from exc
    if not isinstance(data, dict):
        raise CallbackInvalid({"non_field_errors": [_("The body must be a JSON object.")]})
    errors = {}
    reference, status = data.get("reference"), data.get("status")
    if not isinstance(reference, str) or not reference:
        errors["reference"] = [_("This field is required.")]
    if status not in (_S.PAID, _S.FAILED):
        errors["status"] = [_("Must be “paid” or “failed”.")]
    texts = {name: data.get(name, "") for name in ("channel_reference", "failure_code", "failure_message")}
    for name, value in texts.items():
        if not isinstance(value, str):
            errors[name] = [_("Must be a string.")]
    if errors:
        raise CallbackInvalid(errors)
    from servicing.models import CollectionDebit

    # A disbursement's reference is never a debit's: it goes straight to the disbursement's locked
    # read, which also tells an unknown reference (nothing written then).
    if not reference.startswith(REFERENCE_PREFIX) and CollectionDebit.objects.filter(
            reference=reference, channel=channel).exists():
        from servicing.services.repayments.collection import collection_callback

        return collection_callback(reference=reference, paid=status == _S.PAID, data=data, **texts)
    try:
        return disbursement_confirm(reference=reference, paid=status == _S.PAID, source="callback", channel=channel,
                                    payload={k: v for k, v in data.items() if isinstance(v, str | int | bool)},
                                    **texts)
    except DisbursementUnknown:
        raise CallbackInvalid({"reference": [_("No disbursement of this channel has this reference.")]}) from None

