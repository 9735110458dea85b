"""Credit lines: the grant (called by the credit flow's grant node), changes to a line (额度变更:
increase, decrease, freeze, unfreeze, terminate) and expiry.

A change is requested (``line_change_request``: validated against the line now, recorded as a
``CreditLineChange``), then decided — applied (``line_change_apply``) or rejected
(``line_change_reject``). Who decides, and whether anyone does, is the ``CreditLineChangeFlow``'s
business (workflows): these services only do what is asked and record it — who, why, the limit
and status before and after, a ``StateTransition`` for every move of the line and of the change —
and tell the line's partner (``line.changed``).

A new limit is set with one conditional UPDATE (``servicing.locks.line_limit_set``): a decrease
below what is drawn plus held is refused with the figures, also when a drawdown holds at the
same moment.
"""

import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.money import format_money, quantize_fen
from creditfactory.core.state import change_state, change_state_where, record_transition
from creditfactory.core.texts import stored_text
from creditfactory.partners.services.webhooks import webhook_emit

from products.engine.dates import add_months
from servicing.locks import credit_line_change_lock, credit_line_lock, line_limit_set, line_rate_set
from servicing.models import (
    CHANGE_MACHINE, LINE_MACHINE, CreditLine, CreditLineChange, CreditLineChangeKind, CreditLineChangeSource,
    CreditLineChangeStatus, CreditLineStatus,
)

from .calendar import business_date

__all__ = [
    "LIMIT_KINDS", "credit_line_grant", "line_change_apply", "line_change_reject", "line_change_request",
    "line_payload", "lines_expire",
]

K = CreditLineChangeKind
L = CreditLineStatus
LIMIT_KINDS = frozenset({K.INCREASE, K.DECREASE})
# The line status each kind of change needs, and the one it moves the line to (limit changes keep it).
_NEEDS = {
    K.INCREASE: {L.ACTIVE, L.FROZEN}, K.DECREASE: {L.ACTIVE, L.FROZEN}, K.FREEZE: {L.ACTIVE},
    K.UNFREEZE: {L.FROZEN}, K.TERMINATE: {L.ACTIVE, L.FROZEN}, K.RATE: {L.ACTIVE, L.FROZEN},
}
# The kinds that may carry a new rate (a rate change needs one).
RATE_KINDS = frozenset({K.INCREASE, K.DECREASE, K.RATE})
_MOVES_TO = {K.FREEZE: L.FROZEN, K.UNFREEZE: L.ACTIVE, K.TERMINATE: L.TERMINATED}


@transaction.atomic
def credit_line_grant(*, application, decision, actor=None, actor_label: str = "") -> CreditLine:
    """Grant the credit line (授信额度) of an approved application; idempotent per application.

    Limit, rate and grade come from the risk ``decision``. Without one (the automated
    assessment failed and staff approved), or when it gives no limit or rate, the requested
    amount and the product version's default rate apply. Valid for the product's line
    validity from today.
    """
    existing = CreditLine.objects.filter(application=application).first()
    if existing is not None:
        return existing
    version = application.product_version
    limit = decision.limit if decision is not None and decision.limit else application.amount
    has_rate = decision is not None and decision.rate_percent is not None
    valid_from = timezone.localdate()
    values = dict(
        application=application, applicant_id=application.applicant_id, enterprise_id=application.enterprise_id,
        product_version=version, decision=decision, branch_id=application.branch_id,
        partner_id=application.partner_id, limit=quantize_fen(limit),
        rate_percent=decision.rate_percent if has_rate else version.rate_default_percent,
        rate_basis=(decision.rate_basis or version.rate_basis) if has_rate else version.rate_basis,
        grade=decision.grade if decision is not None else "",
        valid_from=valid_from, valid_until=add_months(valid_from, version.line_validity_months),
        status=CreditLineStatus.ACTIVE, revolving=version.line_revolving,
    )
    try:
        with transaction.atomic():  # savepoint: a concurrent grant of the same application wins
            line = CreditLine(**values)
            if getattr(actor, "pk", None):
                line._history_user = actor
            line.save()
    except IntegrityError:
        return CreditLine.objects.get(application=application)
    user = actor if getattr(actor, "pk", None) else None
    record_transition(line, from_state="", to_state=CreditLineStatus.ACTIVE, actor=user,
                      actor_label="" if user else (actor_label or "system"),
                      reason=stored_text(gettext_noop("Granted for application %(number)s."),
                                         number=application.number))
    return line


# --- changes to a line ----------------------------------------------------------------------------


def _actor_user(actor):
    return actor if getattr(actor, "pk", None) else None


def _label(actor, actor_label: str) -> str:
    return "" if _actor_user(actor) else (actor_label or "system")


def _status_label(status: str) -> str:
    return str(L(status).label) if status in L.values else status


def line_payload(line: CreditLine, **extra) -> dict:
    """What a partner's webhook says about a line (no personal data)."""
    return {
        "credit_line": {
            "id": line.pk, "status": line.status, "limit": f"{line.limit:.2f}", "used": f"{line.used:.2f}",
            "held": f"{line.held:.2f}", "available": f"{line.available:.2f}",
            "rate_percent": f"{line.rate_percent.normalize():f}", "rate_basis": line.rate_basis,
            "valid_until": line.valid_until.isoformat(),
        },
        **extra,
    }


def _change_payload(change: CreditLineChange) -> dict:
    return {
        "id": change.pk, "number": change.number, "kind": change.kind, "status": change.status,
        "source": change.source, "reason": change.reason,
        "new_limit": None if change.new_limit is None else f"{change.new_limit:.2f}",
        "limit_before": None if change.limit_before is None else f"{change.limit_before:.2f}",
        "limit_after": None if change.limit_after is None else f"{change.limit_after:.2f}",
        "status_before": change.status_before, "status_after": change.status_after,
        "new_rate_percent": _rate(change.new_rate_percent), "rate_before": _rate(change.rate_before),
        "rate_after": _rate(change.rate_after),
    }


def _rate(value) -> str | None:
    return None if value is None else f"{Decimal(value).normalize():f}"


def _emit(line: CreditLine, change: CreditLineChange | None = None, **extra) -> None:
    if line.partner_id:
        payload = line_payload(line, **extra)
        if change is not None:
            payload["change"] = _change_payload(change)
        webhook_emit(partner=line.partner, event="line.changed", payload=payload)


def _refused_below_drawn(line: CreditLine, new_limit: Decimal) -> ValidationError:
    return ValidationError({"new_limit": [ValidationError(
        _("The new limit %(new)s is below what the line has drawn and reserved: used %(used)s + held %(held)s "
          "= %(total)s.") % {"new": format_money(new_limit), "used": format_money(line.used),
                             "held": format_money(line.held), "total": format_money(line.used + line.held)},
        code="below_used")]})


def _validate_rate(line: CreditLine, *, kind: str, new_rate, errors: dict) -> Decimal | None:
    if new_rate is None:
        if kind == K.RATE:
            errors["new_rate_percent"] = [_("Give the new rate.")]
        return None
    if kind not in RATE_KINDS:
        errors["new_rate_percent"] = [_("Only an increase, a decrease or a rate change takes a new rate.")]
        return None
    new_rate = Decimal(new_rate)
    if new_rate <= 0:
        errors["new_rate_percent"] = [_("The new rate must be more than zero.")]
    elif kind == K.RATE and new_rate == line.rate_percent:
        errors["new_rate_percent"] = [_("The line's rate is %(rate)s %% already.") % {"rate": _rate(new_rate)}]
    return new_rate


def _validate(line: CreditLine, *, kind: str, new_limit, reason: str, new_rate=None) -> tuple:
    """The change's new limit (fen) and new rate, or ValidationError naming the field: what the
    line allows now."""
    errors: dict[str, list] = {}
    if kind not in K.values:
        raise ValidationError({"kind": [_("Choose one of: %(kinds)s.") % {"kinds": ", ".join(K.values)}]})
    if not (reason or "").strip():
        errors["reason"] = [_("Give the reason for the change.")]
    if kind in LIMIT_KINDS:
        if new_limit is None:
            errors["new_limit"] = [_("Give the new limit.")]
        else:
            new_limit = quantize_fen(Decimal(new_limit))
            if new_limit <= 0:
                errors["new_limit"] = [_("The new limit must be more than zero.")]
            elif kind == K.INCREASE and new_limit <= line.limit:
                errors["new_limit"] = [_("An increase needs a limit above the current %(limit)s.")
                                       % {"limit": format_money(line.limit)}]
            elif kind == K.DECREASE and new_limit >= line.limit:
                errors["new_limit"] = [_("A decrease needs a limit below the current %(limit)s.")
                                       % {"limit": format_money(line.limit)}]
            elif kind == K.DECREASE and new_limit < line.used + line.held:
                errors.update(_refused_below_drawn(line, new_limit).message_dict)
    elif new_limit is not None:
        errors["new_limit"] = [_("Only an increase or a decrease takes a new limit.")]
    new_rate = _validate_rate(line, kind=kind, new_rate=new_rate, errors=errors)
    if line.status not in _NEEDS[kind]:
        errors["status"] = [ValidationError(
            _("A %(status)s line cannot be changed this way (%(kind)s).")
            % {"status": _status_label(line.status), "kind": K(kind).label}, code="illegal_transition")]
    if errors:
        raise ValidationError(errors)
    return (new_limit if kind in LIMIT_KINDS else None), new_rate


@transaction.atomic
def line_change_request(*, line: CreditLine, kind: str, reason: str, source: str, new_limit=None, actor=None,
                        partner=None, warning=None, new_rate_percent=None) -> CreditLineChange:
    """Record a requested change of ``line``, checked against the line now (ValidationError naming
    the field otherwise: ``kind``, ``new_limit`` — with the figures when below what is drawn —,
    ``reason``, ``status``). It is decided later by ``line_change_apply`` / ``line_change_reject``."""
    if source not in CreditLineChangeSource.values:
        raise ValueError(f"Unknown change source {source!r}.")
    line = credit_line_lock(line_id=line.pk)
    new_limit, new_rate = _validate(line, kind=kind, new_limit=new_limit, reason=reason, new_rate=new_rate_percent)
    change = CreditLineChange.objects.create(
        number=f"LC-{uuid.uuid4().hex[:12].upper()}", credit_line=line, kind=kind, new_limit=new_limit,
        new_rate_percent=new_rate, rate_before=line.rate_percent,
        reason=reason.strip()[:500], source=source, requested_by=_actor_user(actor), partner=partner,
        business_date=business_date(), warning=warning, limit_before=line.limit, status_before=line.status,
    )
    change.number = f"LC{change.pk:010d}"
    change.save(update_fields=["number"])
    record_transition(change, from_state="", to_state=CreditLineChangeStatus.REQUESTED, actor=actor,
                      actor_label=_label(actor, partner.name if partner is not None else ""), reason=change.reason)
    return change


def _decide(change: CreditLineChange, *, to_state: str, actor, actor_label: str, note: str,
            extra_update_fields=()) -> None:
    change.decided_by, change.decided_at, change.decision_note = _actor_user(actor), timezone.now(), note[:500]
    change_state(change, to_state=to_state, machine=CHANGE_MACHINE, actor=actor,
                 actor_label=_label(actor, actor_label), reason=note or change.reason,
                 extra_update_fields=["decided_by", "decided_at", "decision_note", *extra_update_fields])


@transaction.atomic
def line_change_apply(*, change: CreditLineChange, actor=None, actor_label: str = "",
                      note: str = "") -> CreditLineChange:
    """Apply a requested change: set the limit (conditional UPDATE) or move the line's status
    (``change_state`` with the line's machine), record before and after, tell the partner.

    When the line no longer allows it (drawn + held above the new limit, the line meanwhile
    expired or terminated) the change is rejected instead, the figures in its decision note; the
    caller reads ``change.status``. Applying a change already decided changes nothing."""
    change = credit_line_change_lock(change_id=change.pk)
    if change.status != CreditLineChangeStatus.REQUESTED:
        return change
    line = credit_line_lock(line_id=change.credit_line_id)
    try:
        _validate_for_apply(line, change)
    except ValidationError as exc:
        _decide(change, to_state=CreditLineChangeStatus.REJECTED, actor=actor, actor_label=actor_label,
                note=" ".join(message for messages in exc.message_dict.values() for message in messages))
        _emit(line, change)
        return change
    before_limit, before_status = line.limit, line.status
    who = dict(actor=actor, actor_label=_label(actor, actor_label))
    why = change.reason
    if change.kind in LIMIT_KINDS:
        if not line_limit_set(line_id=line.pk, new_limit=change.new_limit):
            line.refresh_from_db()
            _decide(change, to_state=CreditLineChangeStatus.REJECTED, note=str(
                _refused_below_drawn(line, change.new_limit).message_dict["new_limit"][0]), **who)
            _emit(line, change)
            return change
        line.limit = change.new_limit
        record_transition(line, field="limit", from_state=f"{before_limit:.2f}", to_state=f"{line.limit:.2f}",
                          reason=why, **who)
    elif change.kind != K.RATE:
        change_state(line, to_state=_MOVES_TO[change.kind], machine=LINE_MACHINE, reason=why, **who)
    before_rate = line.rate_percent
    if change.new_rate_percent is not None and change.new_rate_percent != before_rate:
        line_rate_set(line_id=line.pk, new_rate=change.new_rate_percent)  # the line is locked and active/frozen
        line.rate_percent = change.new_rate_percent
        record_transition(line, field="rate_percent", from_state=_rate(before_rate),
                          to_state=_rate(line.rate_percent), reason=why, **who)
    change.limit_before, change.limit_after = before_limit, line.limit
    change.status_before, change.status_after = before_status, line.status
    change.rate_before, change.rate_after = before_rate, line.rate_percent
    _decide(change, to_state=CreditLineChangeStatus.APPLIED, note=note, **who,
            extra_update_fields=["limit_before", "limit_after", "status_before", "status_after", "rate_before",
                                 "rate_after"])
    _emit(line, change)
    return change


def _validate_for_apply(line: CreditLine, change: CreditLineChange) -> None:
    if line.status not in _NEEDS[change.kind]:
        raise ValidationError({"status": [
            _("A %(status)s line cannot be changed this way (%(kind)s).")
            % {"status": _status_label(line.status), "kind": K(change.kind).label}]})


@transaction.atomic
def line_change_reject(*, change: CreditLineChange, reason: str, actor=None, actor_label: str = "") -> CreditLineChange:
    """Reject a requested change (the line stays as it is); a reason is required."""
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("Give the reason for rejecting the change.")]})
    change = credit_line_change_lock(change_id=change.pk)
    if change.status != CreditLineChangeStatus.REQUESTED:
        raise ValidationError({"status": [ValidationError(
            _("Change %(number)s has been decided already.") % {"number": change.number}, code="closed")]})
    _decide(change, to_state=CreditLineChangeStatus.REJECTED, actor=actor, actor_label=actor_label,
            note=reason.strip())
    _emit(change.credit_line, change)
    return change


def lines_expire(*, on_date=None) -> int:
    """Expire every active or frozen line whose validity ended before ``on_date`` (default: the
    business date). Each line moves in its own conditional UPDATE, logged; safe to re-run.
    Returns how many lines expired."""
    on_date = on_date or business_date()
    expired = 0
    due = (CreditLine.objects.filter(status__in=[L.ACTIVE, L.FROZEN], valid_until__lt=on_date)
           .values_list("pk", "status").order_by("pk"))
    for line_id, status in due.iterator(chunk_size=500):
        with transaction.atomic():
            moved = change_state_where(
                CreditLine, line_id, from_state=status, to_state=L.EXPIRED, machine=LINE_MACHINE,
                actor_label="system",
                reason=stored_text(gettext_noop("Validity ended; expired on the business date %(date)s."),
                                   date=on_date.isoformat()))
            if moved:
                expired += 1
                line = CreditLine.objects.select_related("partner").get(pk=line_id)
                _emit(line, expired_on=on_date.isoformat())
    return expired
