"""Field visits (外访) and legal referrals (法务移交) on a case.

``visit_record`` records a visit's result as a contact (channel ``visit``) through
``contact_record``, so every compliance rule applies to it — contact hours, hardship hold, the
daily limit — even when the borrower was not found (the visit happened; a refusal is logged).

``legal_referral_request`` refers a case to legal while its loan still owes: the loan is overdue
(an open case) or written off (a case closed on write-off: recovery goes on by law); a case closed
because the loan is current again or paid off cannot be referred. One referral is pending or
approved per case. ``legal_referral_decide`` is the checker: the work group's lead or a holder of
``collections.approve_legalreferral``, never who requested it (four eyes)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.state import change_state, record_transition
from creditfactory.core.texts import stored_text
from servicing.models import LoanStatus
from servicing.services.calendar import business_date

from ..locks import case_lock, legal_referral_lock
from ..models import (
    LEGAL_MACHINE, CollectionCase, ContactChannel, ContactResult, FieldVisit, LegalReferral,
    LegalReferralStatus, VisitResult,
)
from .contacts import ContactRefused, case_access_check, contact_record

__all__ = ["legal_referral_allowed", "legal_referral_decide", "legal_referral_request", "visit_record"]

_VISIT_CONTACT = {VisitResult.VISITED: ContactResult.REACHED, VisitResult.NOT_FOUND: ContactResult.NO_ANSWER,
                  VisitResult.REFUSED: ContactResult.REFUSED}


def visit_record(*, case: CollectionCase, result: str, notes: str = "", actor=None, agency=None, at=None) -> FieldVisit:
    """Record a field visit and its result. Raises ``ContactRefused`` when the visit broke a
    compliance rule (the refusal logged, nothing else written), ``PermissionDenied`` or
    ``ValidationError`` naming the field."""
    if result not in VisitResult.values:
        raise ValidationError({"result": _("Choose the visit's result.")})
    refused = None
    with transaction.atomic():
        try:
            contact = contact_record(case=case, channel=ContactChannel.VISIT, result=_VISIT_CONTACT[result],
                                     notes=notes, actor=actor, agency=agency, at=at)
        except ContactRefused as exc:  # the refusal's log row is kept: leave the block normally
            refused = exc
        else:
            return FieldVisit.objects.create(case_id=case.pk, contact=contact, result=result,
                                             bucket=contact.case.bucket)
    raise refused


def _owed(loan) -> object:
    return loan.principal_outstanding + loan.interest_receivable + loan.penalty_receivable + loan.fee_receivable


def legal_referral_allowed(case: CollectionCase) -> bool:
    """Whether the case may be referred to legal now (its loan still owes; nothing pending)."""
    return case.loan.status in (LoanStatus.OVERDUE, LoanStatus.WRITTEN_OFF) and not case.legal_referrals.filter(
        status__in=[LegalReferralStatus.REQUESTED, LegalReferralStatus.APPROVED]).exists()


@transaction.atomic
def legal_referral_request(*, case: CollectionCase, reason: str, actor, agency=None) -> LegalReferral:
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason for the legal referral.")})
    locked = case_lock(case.pk)
    case_access_check(case=locked, actor=actor, agency=agency)
    loan = locked.loan
    if loan.status not in (LoanStatus.OVERDUE, LoanStatus.WRITTEN_OFF):
        raise ValidationError({"case": _("Only a case whose loan is overdue or written off can be referred to "
                                         "legal; this loan is %(status)s.") % {"status": loan.get_status_display()}})
    try:
        with transaction.atomic():
            referral = LegalReferral.objects.create(
                case=locked, reason=reason.strip(), bucket=locked.bucket, owed=_owed(loan),
                requested_on=business_date(), requested_by=actor if getattr(actor, "pk", None) else None,
                agency=agency)
    except IntegrityError:
        raise ValidationError({"case": _("The case has a legal referral pending or approved already.")}) from None
    record_transition(referral, from_state="", to_state=LegalReferralStatus.REQUESTED, actor=actor,
                      actor_label="" if actor else (agency.name if agency else ""))
    return referral


def _may_decide(actor, case: CollectionCase) -> bool:
    return actor.has_perm("collections.approve_legalreferral") or (
        case.work_group is not None and case.work_group.lead_id == actor.pk)


@transaction.atomic
def legal_referral_decide(*, referral: LegalReferral, actor, approve: bool, reason: str = "") -> LegalReferral:
    """Approve or reject a requested referral (four eyes)."""
    locked = legal_referral_lock(referral.pk)
    if not _may_decide(actor, locked.case):
        raise PermissionDenied(_("Only the work group's lead decides legal referrals."))
    if locked.requested_by_id == actor.pk:
        raise PermissionDenied(_("A legal referral is decided by someone other than who requested it (four eyes)."))
    if locked.status != LegalReferralStatus.REQUESTED:
        raise ValidationError({"referral": _("This legal referral was decided already.")})
    locked.decided_by = actor
    locked.decided_on = business_date()
    change_state(locked, to_state=LegalReferralStatus.APPROVED if approve else LegalReferralStatus.REJECTED,
                 machine=LEGAL_MACHINE, actor=actor, extra_update_fields=["decided_by", "decided_on"],
                 reason=stored_text(gettext_noop("Legal referral decided: %(reason)s"), reason=reason)
                 if reason else "")
    return locked


