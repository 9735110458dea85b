"""A loan's credit balance (溢缴款): applied when an installment falls due, refunded with
maker-checker (docs/servicing.md §4)."""

from __future__ import annotations

import datetime
import uuid

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.money import ZERO
from creditfactory.core.state import change_state, record_transition
from creditfactory.core.texts import stored_text
from servicing.locks import credit_balance_refund_lock, loan_installments_lock, loan_lock
from servicing.models import (
    REFUND_MACHINE, AccountKind, CreditBalanceRefund, EntryKind, Loan, RefundStatus, Repayment, RepaymentKind,
    RepaymentSource, RepaymentStatus,
)
from servicing.services.calendar import business_date

from .books import Books
from .posting import _amount, post_locked, repayment_create
from .quotes import RepaymentRefused, owed_payable

__all__ = ["credit_balance_apply", "credit_balance_refund_approve", "credit_balance_refund_reject",
           "credit_balance_refund_request"]

REQUEST_PERMISSION = "servicing.request_refund"
APPROVE_PERMISSION = "servicing.approve_refund"


@transaction.atomic
def credit_balance_apply(*, loan: Loan, business_date: datetime.date, actor=None) -> Repayment | None:
    """Apply the loan's credit balance to what is payable on ``business_date`` (the start of the
    day an installment falls due; the close calls it). Allocated like a repayment, source
    ``credit_balance``, entries ``<loan>/credit-applied/<id>/<funder>`` (Dr suspense). Idempotent
    per loan and date (reference ``credit-<date>``); None when there is nothing to apply."""
    from servicing.services.calendar import business_date as current

    locked = loan_lock(loan_id=loan.pk)
    reference = f"credit-{business_date.isoformat()}"
    existing = Repayment.objects.filter(loan=locked, reference=reference).first()
    if existing is not None or locked.credit_balance <= 0 or locked.status in ("closed", "written_off"):
        return existing
    if business_date != current():
        raise RepaymentRefused(_("A credit balance is applied on the current business date."), field="business_date")
    installments = loan_installments_lock(loan_id=locked.pk)
    payable = sum((row.total for row in owed_payable(locked, installments=installments, on=business_date)), ZERO)
    amount = min(payable, locked.credit_balance)
    if amount <= 0:
        return None
    repayment = repayment_create(loan=locked, amount=amount, kind=RepaymentKind.REGULAR, principal=None,
                                 reference=reference, source=RepaymentSource.CREDIT_BALANCE,
                                 status=RepaymentStatus.POSTED, actor=actor)
    return post_locked(loan=locked, repayment=repayment, kind=RepaymentKind.REGULAR, amount=amount, principal=None,
                       actor=actor, debit_kind=AccountKind.SUSPENSE, reference_kind="credit-applied")


def _number(refund: CreditBalanceRefund) -> str:
    return f"RF{refund.created_at:%Y%m%d}{refund.pk:08d}"


@transaction.atomic
def credit_balance_refund_request(*, loan: Loan, amount, reason: str, actor) -> CreditBalanceRefund:
    """An officer asks to refund ``amount`` of the loan's credit balance to the borrower; a second
    person approves it (``credit_balance_refund_approve``). Needs ``servicing.request_refund``."""
    if not getattr(actor, "pk", None) or not actor.has_perm(REQUEST_PERMISSION):
        raise PermissionDenied(_("You may not request refunds."))
    amount = _amount(amount)
    if not reason.strip():
        raise RepaymentRefused(_("Say why the money is refunded."), field="reason")
    locked = loan_lock(loan_id=loan.pk)
    if amount > locked.credit_balance:
        raise RepaymentRefused(_("The credit balance is %(balance)s; no more can be refunded.")
                               % {"balance": f"{locked.credit_balance:.2f}"}, field="amount",
                               figures={"credit_balance": locked.credit_balance})
    # a unique placeholder until the number (it needs the id) is set: "" would make concurrent
    # requests wait on the unique index for each other's commit
    refund = CreditBalanceRefund.objects.create(loan=locked, number=uuid.uuid4().hex, amount=amount, reason=reason[:255],
                                                status=RefundStatus.REQUESTED, requested_by=actor)
    refund.number = _number(refund)
    refund.save(update_fields=["number"])
    record_transition(refund, from_state="", to_state=RefundStatus.REQUESTED, actor=actor,
                      reason=stored_text(gettext_noop("Refund of %(amount)s requested."), amount=f"{amount:.2f}"))
    return refund


def _decider(refund: CreditBalanceRefund, actor) -> None:
    if not getattr(actor, "pk", None) or not actor.has_perm(APPROVE_PERMISSION):
        raise PermissionDenied(_("You may not decide refunds."))
    if refund.requested_by_id == actor.pk:
        raise PermissionDenied(_("A refund is approved by someone other than who requested it (four eyes)."))
    if refund.status != RefundStatus.REQUESTED:
        raise RepaymentRefused(_("This refund was decided already."), status=409, code="decided")


@transaction.atomic
def credit_balance_refund_approve(*, refund: CreditBalanceRefund, actor) -> CreditBalanceRefund:
    """Approve a refund (another person than the requester, ``servicing.approve_refund``): the
    credit balance goes down by the amount — refused when it holds less by now — and each funder
    posts ``<loan>/refund/<id>/<funder>``: Dr suspense / Cr settlement."""
    locked_loan = loan_lock(loan_id=refund.loan_id)
    refund = credit_balance_refund_lock(refund_id=refund.pk)
    _decider(refund, actor)
    if refund.amount > locked_loan.credit_balance:
        raise RepaymentRefused(_("The credit balance is %(balance)s now; the refund cannot be paid.")
                               % {"balance": f"{locked_loan.credit_balance:.2f}"}, field="amount", status=409,
                               code="insufficient_credit_balance")
    on = business_date()
    books = Books(locked_loan)
    shares = books.split(refund.amount, balance="credit_balance", taking=True)
    books.change("credit_balance", {k: -v for k, v in shares.items()})
    books.post(kind=EntryKind.REFUND, reference=f"{locked_loan.number}/refund/{refund.pk}", on=on,
               memo=_("Refund %(number)s of loan %(loan)s") % {"number": refund.number, "loan": locked_loan.number},
               actor=actor, debit={AccountKind.SUSPENSE: shares}, credit={AccountKind.SETTLEMENT: shares})
    books.save()
    refund.decided_by, refund.decided_at, refund.value_date = actor, timezone.now(), on
    change_state(refund, to_state=RefundStatus.PAID, machine=REFUND_MACHINE, actor=actor,
                 reason=stored_text(gettext_noop("Approved and paid on %(date)s."), date=on.isoformat()),
                 extra_update_fields=["decided_by", "decided_at", "value_date"])
    return refund


@transaction.atomic
def credit_balance_refund_reject(*, refund: CreditBalanceRefund, actor, reason: str = "") -> CreditBalanceRefund:
    """Reject a refund request (same rights as approving); nothing moves."""
    loan_lock(loan_id=refund.loan_id)
    refund = credit_balance_refund_lock(refund_id=refund.pk)
    _decider(refund, actor)
    refund.decided_by, refund.decided_at = actor, timezone.now()
    change_state(refund, to_state=RefundStatus.REJECTED, machine=REFUND_MACHINE, actor=actor,
                 reason=stored_text(gettext_noop("Rejected: %(reason)s"), reason=reason[:200]),
                 extra_update_fields=["decided_by", "decided_at"])
    return refund


