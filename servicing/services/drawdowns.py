"""Drawdowns (借款/支用): create one against a credit line, and end one that does not lead to a
loan — cancel, reject, fail. The ``DrawdownFlow`` (``workflows``) carries a created drawdown on.

* ``drawdown_create`` checks amount, term, term unit, repayment method and purpose against the
  line's product version (``ValidationError`` naming the field → 400), reserves the amount on the
  line with ``servicing.locks.line_hold`` (a conditional UPDATE, never check-then-act) and
  records the drawdown ``requested``. A line that is not active or past its validity →
  ``DrawdownRefused`` 409; more than is available → ``DrawdownRefused`` 422 naming ``amount``
  with the available figure. Nothing is written when it refuses.
* ``drawdown_cancel`` (before disbursement; afterwards 409), ``drawdown_reject`` and
  ``drawdown_fail`` each release the reservation and the funder quotas exactly once: the
  drawdown's ``line_hold`` moves held → released in one conditional UPDATE
  (``drawdown_line_hold_settle``), and only the caller that moved it gives the amount back.
* ``drawdown_line_post`` posts the reservation as used at confirmed disbursement (once).

``actor`` is the staff user; partners and the system pass ``actor=None`` and ``actor_label``.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.money import MoneyError, format_money, quantize_fen, to_decimal
from creditfactory.core.numbers import parse_int
from creditfactory.core.pii import mask_bank_account
from creditfactory.core.texts import stored_text
from creditfactory.core.state import change_state, transition_entry
from creditfactory.core.validators import text_problem
from risk.validators import normalise_bank_account
from servicing.fastpath import drawdown_insert
from servicing.locks import drawdown_line_hold_settle, drawdown_lock, line_draw, line_hold, line_release
from servicing.models import (
    DRAWDOWN_MACHINE,
    OPEN_DRAWDOWN_STATUSES,
    CreditLine,
    CreditLineStatus,
    Drawdown,
    DrawdownChannel,
    DrawdownStatus,
    FundingHoldStatus,
)

from .calendar import business_date

try:  # the funding helper's module (issue 15 §5); until it is merged no drawdown holds a quota
    from .funding import funding_release
except ImportError:  # pragma: no cover - depends on the merge order
    funding_release = None

__all__ = [
    "DrawdownRefused", "drawdown_cancel", "drawdown_create", "drawdown_create_in", "drawdown_fail", "drawdown_line_post",
    "drawdown_reject", "drawdown_review_required",
]

S = DrawdownStatus


class DrawdownRefused(Exception):
    """A drawdown the line's state (409) or balance (422) does not allow now. ``errors`` names
    the field; ``figures`` carries the numbers (e.g. ``{"available": "5000.00"}``)."""

    def __init__(self, status: int, code: str, message: str, errors: dict | None = None,
                 figures: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.errors, self.figures = errors or {}, figures or {}


def _line_state_refusal(line: CreditLine, today) -> DrawdownRefused | None:
    if line.status != CreditLineStatus.ACTIVE:
        message = _("The credit line is %(status)s: no drawdown is possible.") % {
            "status": line.get_status_display().lower()}
        return DrawdownRefused(409, f"line_{line.status}", message, {"credit_line": [message]},
                               {"line_status": line.status})
    if line.valid_until < today:
        message = _("The credit line expired on %(date)s: no drawdown is possible.") % {
            "date": line.valid_until.isoformat()}
        return DrawdownRefused(409, "line_expired", message, {"credit_line": [message]},
                               {"valid_until": line.valid_until.isoformat()})
    return None


def _check_terms(version, data: dict, errors: dict):
    try:
        amount = to_decimal(data.get("amount"))
        if amount != quantize_fen(amount) or amount <= 0:
            raise MoneyError("not an amount in fen")
    except (MoneyError, TypeError):
        errors["amount"] = [_("Enter an amount in CNY, e.g. 20000.00.")]
        amount = None
    if amount is not None and not version.amount_min <= amount <= version.amount_max:
        errors["amount"] = [_("The amount must be between %(min)s and %(max)s.")
                            % {"min": format_money(version.amount_min), "max": format_money(version.amount_max)}]
    term_unit = data.get("term_unit") or version.term_unit
    if term_unit != version.term_unit:
        errors["term_unit"] = [_("This product's term is in %(unit)s.") % {"unit": version.get_term_unit_display()}]
    try:
        term = parse_int(data.get("term"))
    except (TypeError, ValueError):
        errors["term"] = [_("Enter the term as a whole number.")]
        term = None
    if term is not None and not version.term_min <= term <= version.term_max:
        errors["term"] = [_("The term must be between %(min)s and %(max)s.")
                          % {"min": version.term_min, "max": version.term_max}]
    method = data.get("repayment_method") or ""
    if method not in (version.repayment_methods or []):
        errors["repayment_method"] = [_("Choose one of: %(choices)s.")
                                      % {"choices": ", ".join(version.repayment_methods or [])}]
    purpose = data.get("purpose") or ""
    if purpose not in (version.purposes or []):
        errors["purpose"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(version.purposes or [])}]
    return amount, term, term_unit, method, purpose


def drawdown_review_required(*, version, amount: Decimal, purpose: str, always: bool = False) -> bool:
    """Whether a disbursement review (放款审核) is needed: the product's amount threshold or
    purposes, or a node configuration that reviews every drawdown (``always``)."""
    if always:
        return True
    if version.drawdown_review_above is not None and amount > version.drawdown_review_above:
        return True
    return purpose in (version.drawdown_review_purposes or [])


def _number_prefix(drawdown: Drawdown) -> str:
    day = timezone.localtime(drawdown.created_at) if drawdown.created_at else timezone.localtime()
    return f"DD{day:%Y%m%d}"


def _number(drawdown: Drawdown) -> str:
    """DD + local creation date + the zero-padded id, as application numbers (CA…)."""
    return f"{_number_prefix(drawdown)}{drawdown.pk:08d}"


@transaction.atomic
def drawdown_create(*, line: CreditLine, data: dict, actor=None, partner=None, actor_label: str = "",
                    review_always: bool = False) -> Drawdown:
    """Create a drawdown on ``line`` and reserve its amount (see the module docstring).
    ``data``: amount, term, term_unit, repayment_method, purpose, bank_account,
    external_reference. A partner may draw only on its own lines (the API scopes it first)."""
    return drawdown_create_in(line=line, data=data, actor=actor, partner=partner, actor_label=actor_label,
                              review_always=review_always)


def drawdown_create_in(*, line: CreditLine, data: dict, actor=None, partner=None, actor_label: str = "",
                       review_always: bool = False) -> Drawdown:
    """``drawdown_create`` in the caller's transaction, which must be open (no savepoint of its
    own): every refusal (``ValidationError``, ``DrawdownRefused``) is raised before anything is
    written — the hold is one conditional UPDATE that changes nothing when refused — so a caller
    may catch it and go on. Used by ``workflows.services.drawdowns.drawdown_request``."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("drawdown_create_in runs in the caller's transaction: use drawdown_create")
    errors: dict[str, list[str]] = {}
    version = line.product_version
    amount, term, term_unit, method, purpose = _check_terms(version, data, errors)
    try:
        account = normalise_bank_account(data.get("bank_account") or "")
    except ValidationError as exc:
        errors["bank_account"] = list(exc.messages)
        account = ""
    reference = str(data.get("external_reference") or "").strip()
    problem = text_problem(reference)
    if problem or len(reference) > 64:
        errors["external_reference"] = [problem or _("At most 64 characters.")]
    if errors:
        raise ValidationError(errors)
    # A partner's reference is checked in the hold's own statement; when anything refuses, the
    # duplicate reference is asked for first (400 before the line's 409/422, as always).
    unless = (partner.pk, reference) if partner is not None and reference else None

    def duplicate_reference():
        if unless is not None and Drawdown.objects.filter(partner=partner, external_reference=reference).exists():
            raise ValidationError({"external_reference": [_("A drawdown with this reference exists already.")]})

    today = business_date()
    refusal = _line_state_refusal(line, today)
    if refusal is not None:
        duplicate_reference()
        raise refusal
    if not line_hold(line_id=line.pk, amount=amount, unless_reference=unless):
        duplicate_reference()
        fresh = CreditLine.objects.get(pk=line.pk)
        refusal = _line_state_refusal(fresh, today)
        if refusal is not None:
            raise refusal
        available = format_money(fresh.available)
        message = _("The amount is more than is available on the credit line (%(available)s).") % {
            "available": available}
        raise DrawdownRefused(422, "amount_unavailable", message, {"amount": [message]},
                              {"available": f"{fresh.available:.2f}"})
    user = actor if getattr(actor, "pk", None) else None
    drawdown = Drawdown(
        number=f"TMP{timezone.now():%H%M%S%f}{line.pk}", credit_line=line, applicant_id=line.applicant_id,
        product_version=version, branch_id=line.branch_id, partner=partner,
        channel=DrawdownChannel.API if partner is not None else DrawdownChannel.BACK_OFFICE,
        entered_by=user, amount=amount, term=term, term_unit=term_unit, repayment_method=method, purpose=purpose,
        bank_account=account, bank_account_masked=mask_bank_account(account), external_reference=reference,
        status=S.REQUESTED, line_hold=FundingHoldStatus.HELD, requested_on=today,
        review_required=drawdown_review_required(version=version, amount=amount, purpose=purpose,
                                                 always=review_always),
    )
    log = transition_entry(drawdown, from_state="", to_state=S.REQUESTED, actor=user,
                           actor_label="" if user else (actor_label or "system"),
                           reason=stored_text(gettext_noop("Requested on credit line %(line)s."), line=str(line)))
    # Inserted with its number and logged in one statement (``servicing.fastpath``); the ORM elsewhere.
    if not drawdown_insert(drawdown, prefix=_number_prefix, log=log):
        drawdown.save(force_insert=True)
        drawdown.number = _number(drawdown)
        drawdown.save(update_fields=["number"])
        log.object_id = str(drawdown.pk)
        log.save()
    return drawdown


def _release(drawdown: Drawdown) -> bool:
    """Give the reservation and the funder quotas back, once. True when this call released."""
    if not drawdown_line_hold_settle(drawdown_id=drawdown.pk, to_status=FundingHoldStatus.RELEASED):
        return False
    released = line_release(line_id=drawdown.credit_line_id, amount=drawdown.amount)
    if not released:  # the database holds held >= every drawdown's hold: a bug, never a user error
        raise RuntimeError(f"drawdown {drawdown.pk}: the line held less than its reservation")
    drawdown.line_hold = FundingHoldStatus.RELEASED
    if funding_release is not None:
        funding_release(drawdown=drawdown)
    return True


def _end(drawdown: Drawdown, *, to_state: str, code: str, reason: str, actor, actor_label: str) -> Drawdown:
    locked = drawdown_lock(drawdown_id=drawdown.pk)
    if to_state == S.FAILED and locked.status not in (S.DISBURSING, S.FAILED):
        # The machine fails only a disbursement; earlier, an unpayable drawdown is rejected.
        to_state = S.REJECTED
    if locked.status == to_state:
        return locked  # a replay (a retried task, a second click): nothing more to do
    allowed = OPEN_DRAWDOWN_STATUSES if to_state != S.FAILED else {S.DISBURSING, *OPEN_DRAWDOWN_STATUSES}
    if locked.status not in allowed:
        message = _("Drawdown %(number)s is %(status)s and can no longer be changed.") % {
            "number": locked.number, "status": locked.get_status_display().lower()}
        raise DrawdownRefused(409, "drawdown_closed", message, {"status": [message]}, {"status": locked.status})
    user = actor if getattr(actor, "pk", None) else None
    locked.reasons = [*locked.reasons, {"code": code, "text": reason}]
    change_state(locked, to_state=to_state, machine=DRAWDOWN_MACHINE, actor=user,
                 actor_label="" if user else (actor_label or "system"), reason=reason,
                 extra_update_fields=("reasons",))
    _release(locked)
    return locked


@transaction.atomic
def drawdown_cancel(*, drawdown: Drawdown, reason: str = "", actor=None, actor_label: str = "") -> Drawdown:
    """Cancel before disbursement (the borrower, the partner or staff); afterwards 409."""
    reason = (reason or "").strip() or _("Cancelled.")
    return _end(drawdown, to_state=S.CANCELLED, code="cancelled", reason=reason, actor=actor,
                actor_label=actor_label)


@transaction.atomic
def drawdown_reject(*, drawdown: Drawdown, reason: str, code: str = "rejected", actor=None,
                    actor_label: str = "") -> Drawdown:
    """Reject (the in-loan check, the reviewer, no funding in time, a warning)."""
    return _end(drawdown, to_state=S.REJECTED, code=code, reason=reason, actor=actor, actor_label=actor_label)


@transaction.atomic
def drawdown_fail(*, drawdown: Drawdown, reason: str, code: str = "disbursement_failed", actor=None,
                  actor_label: str = "") -> Drawdown:
    """The disbursement failed: release the reservation and the funder quotas."""
    return _end(drawdown, to_state=S.FAILED, code=code, reason=reason, actor=actor, actor_label=actor_label)


def drawdown_line_post(*, drawdown: Drawdown) -> bool:
    """At confirmed disbursement, inside the booking's transaction: the reservation becomes used
    (``line_draw``), once. True when this call posted it."""
    if not drawdown_line_hold_settle(drawdown_id=drawdown.pk, to_status=FundingHoldStatus.POSTED):
        return False
    if not line_draw(line_id=drawdown.credit_line_id, amount=drawdown.amount):
        raise RuntimeError(f"drawdown {drawdown.pk}: the line held less than its reservation")
    drawdown.line_hold = FundingHoldStatus.POSTED
    return True
