"""Offline repayments (线下还款): an officer registers a bank transfer, a second person verifies it
before it posts (maker-checker). The registration writes no money; verification posts it exactly
as ``repayment_post`` would, on the business date of the verification."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import change_state
from creditfactory.core.texts import stored_text
from servicing.locks import loan_installments_lock, loan_lock, repayment_lock
from servicing.models import REPAYMENT_MACHINE, Loan, Repayment, RepaymentKind, RepaymentSource, RepaymentStatus
from servicing.services.calendar import business_date

from .posting import _amount, post_locked, repayment_create
from .quotes import RepaymentRefused, quote_compute

__all__ = ["offline_repayment_register", "offline_repayment_reject", "offline_repayment_verify"]

REGISTER_PERMISSION = "servicing.register_repayment"
VERIFY_PERMISSION = "servicing.verify_repayment"


@transaction.atomic
def offline_repayment_register(*, loan: Loan, amount, reference: str, actor, kind: str = RepaymentKind.REGULAR,
                               principal=None, note: str = "") -> Repayment:
    """Register a bank transfer for ``loan`` (``servicing.register_repayment``): a repayment
    awaiting verification. ``reference`` is the bank's reference (unique per loan). Payoff and
    prepayment are checked against today's quote now and again when verified."""
    if not getattr(actor, "pk", None) or not actor.has_perm(REGISTER_PERMISSION):
        raise PermissionDenied(_("You may not register repayments."))
    amount = _amount(amount)
    principal = _amount(principal, field="principal") if principal not in (None, "") else None
    if not reference or len(reference) > 80:
        raise RepaymentRefused(_("Give the bank transfer's reference (up to 80 characters)."), field="reference")
    locked = loan_lock(loan_id=loan.pk)
    if Repayment.objects.filter(loan=locked, reference=reference).exists():
        raise RepaymentRefused(_("A repayment with this reference exists already."), field="reference", status=409,
                               code="duplicate_reference")
    if kind != RepaymentKind.REGULAR:
        quote = quote_compute(loan=locked, installments=loan_installments_lock(loan_id=locked.pk),
                              on=business_date(), kind=kind, principal=principal)
        if amount < quote.total or (kind == RepaymentKind.PREPAYMENT and amount != quote.total):
            raise RepaymentRefused(_("Today's quote is %(total)s.") % {"total": f"{quote.total:.2f}"}, field="amount",
                                   code="amount_mismatch", figures={"quote": quote.total})
    else:
        quote_compute(loan=locked, installments=[], on=business_date(), kind=kind)  # refuses a closed loan
    return repayment_create(loan=locked, amount=amount, kind=kind, principal=principal, reference=reference,
                            source=RepaymentSource.BACKOFFICE, status=RepaymentStatus.PENDING_VERIFICATION,
                            actor=actor, note=note)


def _checker(repayment: Repayment, actor) -> None:
    if not getattr(actor, "pk", None) or not actor.has_perm(VERIFY_PERMISSION):
        raise PermissionDenied(_("You may not verify repayments."))
    if repayment.entered_by_id == actor.pk:
        raise PermissionDenied(_("A repayment is verified by someone other than who registered it (four eyes)."))
    if repayment.status != RepaymentStatus.PENDING_VERIFICATION:
        raise RepaymentRefused(_("This repayment was decided already."), status=409, code="decided")


@transaction.atomic
def offline_repayment_verify(*, repayment: Repayment, actor) -> Repayment:
    """Verify a registered transfer (``servicing.verify_repayment``, not its registrar): it posts
    now, as ``repayment_post`` does. A payoff or prepayment whose quote moved since registration
    is refused (``RepaymentRefused`` naming ``amount``); reject it and register it again."""
    loan = loan_lock(loan_id=repayment.loan_id)
    repayment = repayment_lock(repayment_id=repayment.pk)
    _checker(repayment, actor)
    repayment.verified_by, repayment.verified_at = actor, timezone.now()
    repayment.save(update_fields=["verified_by", "verified_at", "updated_at"])
    return post_locked(loan=loan, repayment=repayment, kind=repayment.kind, amount=repayment.amount,
                       principal=repayment.requested_principal, actor=actor)


@transaction.atomic
def offline_repayment_reject(*, repayment: Repayment, actor, reason: str = "") -> Repayment:
    """Reject a registered transfer (same rights as verifying); nothing is posted."""
    loan_lock(loan_id=repayment.loan_id)
    repayment = repayment_lock(repayment_id=repayment.pk)
    _checker(repayment, actor)
    repayment.verified_by, repayment.verified_at = actor, timezone.now()
    change_state(repayment, to_state=RepaymentStatus.REJECTED, machine=REPAYMENT_MACHINE, actor=actor,
                 reason=stored_text(gettext_noop("Rejected: %(reason)s"), reason=reason[:200]),
                 extra_update_fields=["verified_by", "verified_at"])
    return repayment
