"""Contacts, promises to pay and hardship holds, with compliance enforced rather than reported:
``contact_record`` refuses a contact breaking a rule of the ``CompliancePolicy`` — raising
``ContactRefused`` naming the rule — and logs the refusal (``ComplianceRefusal``), which is kept
though nothing else is written. Rules, in the order checked: the case is open; no contact under an
approved hardship hold; third parties only the borrower's registered emergency contact; contact
hours in the policy's time zone; at most N contacts of a borrower a day (local day, counted under
the borrower's row lock across cases, channels and collectors)."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.money import quantize_fen
from creditfactory.core.state import change_state, record_transition
from creditfactory.core.texts import stored_text
from servicing.services.calendar import business_date

from ..locks import borrower_contacts_lock, case_lock, hardship_lock
from ..models import (
    HARDSHIP_MACHINE, CaseStatus, CollectionCase, CompliancePolicy, ComplianceRefusal, ComplianceRule, Contact,
    ContactChannel, ContactParty, ContactResult, EmergencyContact, HardshipHold, HardshipStatus, Promise,
    PromiseStatus,
)

__all__ = ["ContactRefused", "case_access_check", "compliance_policy", "contact_record", "hardship_approve",
           "hardship_reject", "hardship_request", "hardship_active"]


class ContactRefused(Exception):
    """A contact breaking a compliance rule: ``rule`` (a ``ComplianceRule``) and a sentence."""

    def __init__(self, rule: str, message: str):
        self.rule = rule
        super().__init__(message)

    @property
    def rule_label(self) -> str:
        return str(ComplianceRule(self.rule).label)


def compliance_policy() -> CompliancePolicy:
    return CompliancePolicy.objects.order_by("id").first() or CompliancePolicy()


def case_access_check(*, case: CollectionCase, actor=None, agency=None) -> None:
    """An agency works only on the cases that are its own now; staff on the cases of their work
    group, their own, or any with ``collections.work_on_cases``."""
    if agency is not None:
        if case.agency_id != agency.pk:
            raise PermissionDenied(_("This case is not assigned to your agency."))
        return
    if actor is None:  # the system (automated reminders)
        return
    if actor.has_perm("collections.work_on_cases") or case.collector_id == actor.pk or (
            case.work_group_id and case.work_group.members.filter(pk=actor.pk).exists()):
        return
    raise PermissionDenied(_("You do not work on this case."))


def hardship_active(*, applicant_id: int, on: datetime.date) -> HardshipHold | None:
    return (HardshipHold.objects.filter(applicant_id=applicant_id, status=HardshipStatus.APPROVED,
                                        start__lte=on, end__gte=on).order_by("-end").first())


_MESSAGES = {
    ComplianceRule.CASE_CLOSED: gettext_noop("The case is closed: no more contacts are recorded on it."),
    ComplianceRule.HARDSHIP: gettext_noop("The borrower is under a hardship hold until %(end)s: no contact."),
    ComplianceRule.THIRD_PARTY: gettext_noop(
        "Only the borrower and the borrower's registered emergency contact may be contacted."),
    ComplianceRule.CONTACT_HOURS: gettext_noop("Contacts are allowed from %(start)s to %(end)s (%(zone)s) only."),
    ComplianceRule.DAILY_LIMIT: gettext_noop("The borrower was contacted %(count)s times today: the limit is %(max)s."),
}


def _breach(case, *, party, emergency_contact, at, policy, today) -> tuple[str, dict] | None:
    if case.status != CaseStatus.OPEN:
        return ComplianceRule.CASE_CLOSED, {}
    hold = hardship_active(applicant_id=case.loan.applicant_id, on=today)
    if hold is not None:
        return ComplianceRule.HARDSHIP, {"end": hold.end.isoformat()}
    if party == ContactParty.OTHER or (party == ContactParty.EMERGENCY_CONTACT and (
            emergency_contact is None or emergency_contact.applicant_id != case.loan.applicant_id)):
        return ComplianceRule.THIRD_PARTY, {}
    local = at.astimezone(ZoneInfo(policy.timezone))
    if not (policy.contact_from <= local.time() < policy.contact_until):
        return ComplianceRule.CONTACT_HOURS, {"start": policy.contact_from.strftime("%H:%M"),
                                              "end": policy.contact_until.strftime("%H:%M"), "zone": policy.timezone}
    count = Contact.objects.filter(applicant_id=case.loan.applicant_id, local_date=local.date()).count()
    if count >= policy.max_contacts_per_day:
        return ComplianceRule.DAILY_LIMIT, {"count": count, "max": policy.max_contacts_per_day}
    return None


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValidationError({"promise_amount": _("Give the amount promised, e.g. \"1200.00\".")}) from None
    if not amount.is_finite() or amount <= 0 or amount != quantize_fen(amount):
        raise ValidationError({"promise_amount": _("The amount promised is a positive amount in fen.")})
    return amount


def contact_record(*, case: CollectionCase, channel: str, result: str, actor=None, agency=None,
                   party: str = ContactParty.BORROWER, emergency_contact: EmergencyContact | None = None,
                   notes: str = "", at: datetime.datetime | None = None, promise_amount=None,
                   promise_due_on: datetime.date | None = None) -> Contact:
    """Record (or, for an automated reminder, allow sending) a contact on ``case``; with
    ``promise_amount`` and ``promise_due_on`` also the borrower's promise to pay (one form).
    Raises ``ContactRefused`` (the refusal logged, nothing else written), ``PermissionDenied``,
    or ``ValidationError`` naming the field."""
    if channel not in ContactChannel.values:
        raise ValidationError({"channel": _("Choose a channel.")})
    if result not in ContactResult.values:
        raise ValidationError({"result": _("Choose a result.")})
    if party not in ContactParty.values:
        raise ValidationError({"party": _("Choose who was contacted.")})
    promising = promise_amount not in (None, "") or promise_due_on is not None
    if promising:
        amount = _amount(promise_amount)
        today = business_date()
        if promise_due_on is None or promise_due_on < today:
            raise ValidationError({"promise_due_on": _("The promised date is on or after %(date)s.")
                                   % {"date": today.isoformat()}})
    at = at or timezone.now()
    policy = compliance_policy()
    breach = None
    with transaction.atomic():
        locked = case_lock(case.pk)
        case_access_check(case=locked, actor=actor, agency=agency)
        borrower_contacts_lock(locked.loan.applicant_id)
        local_day = at.astimezone(ZoneInfo(policy.timezone)).date()
        breach = _breach(locked, party=party, emergency_contact=emergency_contact, at=at, policy=policy,
                         today=business_date())
        if breach is None:
            contact = Contact.objects.create(
                case=locked, applicant_id=locked.loan.applicant_id, channel=channel, party=party,
                emergency_contact=emergency_contact if party == ContactParty.EMERGENCY_CONTACT else None,
                result=ContactResult.PROMISED if promising else result, notes=notes, at=at, local_date=local_day,
                collector=actor if getattr(actor, "pk", None) else None, agency=agency)
            if promising:
                promise = Promise.objects.create(
                    case=locked, amount=amount, made_on=business_date(), due_on=promise_due_on, contact=contact,
                    collector=contact.collector, agency=agency)
                record_transition(promise, from_state="", to_state=PromiseStatus.PENDING, actor=actor,
                                  actor_label="" if actor else (agency.name if agency else "system"))
            return contact
    rule, params = breach
    ComplianceRefusal.objects.create(case=case, rule=rule, channel=channel, party=party, at=at,
                                     collector=actor if getattr(actor, "pk", None) else None, agency=agency)
    raise ContactRefused(rule, _(_MESSAGES[rule]) % params)


@transaction.atomic
def hardship_request(*, case: CollectionCase, reason: str, actor, agency=None) -> HardshipHold:
    """A hardship request on the borrower's behalf; contact pauses once it is approved."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Give the reason for the hardship request.")})
    locked = case_lock(case.pk)
    case_access_check(case=locked, actor=actor, agency=agency)
    hold = HardshipHold.objects.create(case=locked, applicant_id=locked.loan.applicant_id, reason=reason.strip(),
                                       requested_by=actor if getattr(actor, "pk", None) else None)
    record_transition(hold, from_state="", to_state=HardshipStatus.REQUESTED, actor=actor)
    return hold


def _decide(hold: HardshipHold, *, actor, to_state: str, reason: str = "") -> HardshipHold:
    if not actor.has_perm("collections.approve_hardshiphold"):
        raise PermissionDenied(_("You may not decide hardship requests."))
    locked = hardship_lock(hold.pk)
    if locked.requested_by_id == actor.pk:
        raise PermissionDenied(_("A hardship request is decided by someone other than who made it (four eyes)."))
    locked.decided_by = actor
    fields = ["decided_by"]
    if to_state == HardshipStatus.APPROVED:
        locked.start = business_date()
        locked.end = locked.start + datetime.timedelta(days=compliance_policy().hardship_days - 1)
        fields += ["start", "end"]
    change_state(locked, to_state=to_state, machine=HARDSHIP_MACHINE, actor=actor, extra_update_fields=fields,
                 reason=stored_text(gettext_noop("Hardship request decided: %(reason)s"), reason=reason)
                 if reason else "")
    return locked


@transaction.atomic
def hardship_approve(*, hold: HardshipHold, actor) -> HardshipHold:
    """Approve: no contact of the borrower from today for the policy's ``hardship_days``."""
    return _decide(hold, actor=actor, to_state=HardshipStatus.APPROVED)


@transaction.atomic
def hardship_reject(*, hold: HardshipHold, actor, reason: str = "") -> HardshipHold:
    return _decide(hold, actor=actor, to_state=HardshipStatus.REJECTED, reason=reason)
