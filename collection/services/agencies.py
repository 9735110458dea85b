"""Agencies' commission and the reassignment of cases by a lead.

Commission (佣金) is earned only on money actually repaid while a case was the agency's: for each
assignment period [start, end) the posted repayments of the loan with a value date in it — less
what went to the loan's credit balance (money beyond what was owed is not a recovery) — times the
assignment's commission rate, rounded once to the fen per assignment."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from creditfactory.core.money import ZERO, money_context, quantize_fen
from creditfactory.core.state import record_transition
from creditfactory.core.texts import stored_text
from servicing.models import Repayment, RepaymentStatus
from servicing.services.calendar import business_date

from ..locks import case_lock
from ..models import Agency, AgencyAssignment, CaseStatus, CollectionCase

__all__ = ["AgencyCommission", "agency_commission", "case_reassign"]


@dataclass(frozen=True)
class AgencyCommission:
    agency: Agency
    recovered: Decimal
    commission: Decimal
    cases: int


def agency_commission(*, agency: Agency, date_from: datetime.date | None = None,
                      date_to: datetime.date | None = None) -> AgencyCommission:
    """The agency's recovered amount and commission over its assignments (optionally those
    overlapping ``date_from``…``date_to``, counting repayments in that window)."""
    assignments = AgencyAssignment.objects.filter(agency=agency).select_related("case")
    if date_to is not None:
        assignments = assignments.filter(start__lte=date_to)
    if date_from is not None:
        assignments = assignments.filter(Q(end__isnull=True) | Q(end__gt=date_from))
    recovered = commission = ZERO
    cases = set()
    for assignment in assignments:
        rows = Repayment.objects.filter(loan_id=assignment.case.loan_id, status=RepaymentStatus.POSTED,
                                        value_date__gte=max(assignment.start, date_from or assignment.start))
        if assignment.end is not None:
            rows = rows.filter(value_date__lt=assignment.end)
        if date_to is not None:
            rows = rows.filter(value_date__lte=date_to)
        amount = rows.aggregate(total=Sum(F("amount") - F("credit_balance")))["total"] or ZERO
        with money_context():
            commission += quantize_fen(amount * assignment.commission_percent / 100)
        recovered += amount
        cases.add(assignment.case_id)
    return AgencyCommission(agency=agency, recovered=recovered, commission=commission, cases=len(cases))


@transaction.atomic
def case_reassign(*, case: CollectionCase, actor, collector=None, work_group=None) -> CollectionCase:
    """A lead (of the case's work group, or with ``collections.reassign_collectioncase``) moves an
    open case to another collector and/or work group; recorded in the case's history."""
    locked = case_lock(case.pk)
    group = locked.work_group
    if not (actor.has_perm("collections.reassign_collectioncase") or (group is not None and group.lead_id == actor.pk)):
        raise PermissionDenied(_("Only the work group's lead reassigns its cases."))
    if locked.status != CaseStatus.OPEN:
        raise ValidationError({"case": _("The case is closed.")})
    target = work_group or group
    if collector is not None and target is not None and not target.members.filter(pk=collector.pk).exists():
        raise ValidationError({"collector": _("%(name)s is not a member of %(group)s.")
                               % {"name": collector.get_username(), "group": target.name}})
    old = (str(locked.collector_id or ""), str(locked.work_group_id or ""))
    locked.collector = collector
    locked.work_group = target
    locked.save(update_fields=["collector", "work_group", "updated_at"])
    record_transition(locked, field="collector", from_state=old[0], to_state=str(collector.pk if collector else ""),
                      actor=actor, reason=stored_text(gettext_noop("Reassigned on %(date)s"),
                                                      date=business_date().isoformat()))
    return locked
