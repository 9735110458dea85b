"""Automated reminders of the strategies (SMS or voice robot, through the SMS outbox and its
sandbox provider): each open case whose step in force is a reminder gets one every
``cadence_days`` days from the day the step began. Each goes through ``contact_record``, so the
compliance rules hold for robots too (sent in contact hours by a beat task, refused under a
hardship hold or past the daily limit, the refusal logged)."""

from __future__ import annotations

import datetime
import logging

from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery

from creditfactory.core.messaging.services import sms_send
from creditfactory.core.models import SmsMessage
from creditfactory.core.messaging.templates import SmsTemplate, register_template
from servicing.services.calendar import business_date as current_business_date
from servicing.services.repayments.quotes import loan_quote

from ..models import ActionKind, CaseStatus, CollectionCase, ContactChannel, ContactResult, StrategyStep
from .contacts import ContactRefused, contact_record

__all__ = ["collection_reminders_send"]

log = logging.getLogger("collection.reminders")

register_template(SmsTemplate(
    code="collection_reminder",
    texts={
        "zh-hans": "您的贷款{loan}已逾期{dpd}天，应还{amount}元，请尽快还款。如有困难请联系我们。",
        "en": "Loan {loan} is {dpd} days overdue: {amount} yuan to pay. Please pay soon, or contact us if you "
              "are in difficulty.",
    },
    description="Collection reminder (the strategy's automated reminder step).",
))


def collection_reminders_send(*, business_date: datetime.date | None = None) -> dict:
    """Send today's reminders. Returns {"sent": n, "refused": n, "failed": n}."""
    day = business_date or current_business_date()
    kind = StrategyStep.objects.filter(version_id=OuterRef("strategy_version_id"), seq=OuterRef("step"))
    cases = (CollectionCase.objects.filter(status=CaseStatus.OPEN, strategy_version__isnull=False)
             .annotate(step_kind=Subquery(kind.values("kind")), step_template=Subquery(kind.values("template")),
                       cadence=Subquery(kind.values("cadence_days")))
             .filter(step_kind__in=[ActionKind.SMS, ActionKind.VOICE])
             .select_related("loan__applicant").order_by("id"))
    counts = {"sent": 0, "refused": 0, "failed": 0}
    for case in cases.iterator(chunk_size=500):
        since = case.step_since or case.opened_on
        if (day - since).days % max(case.cadence or 1, 1):
            continue
        key = f"collection/{case.pk}/{day.isoformat()}"
        if SmsMessage.objects.filter(dedupe_key=key).exists():  # sent already (a re-run)
            continue
        loan = case.loan
        channel = ContactChannel.SMS if case.step_kind == ActionKind.SMS else ContactChannel.VOICE
        try:
            contact_record(case=case, channel=channel, result=ContactResult.SENT)
            sms_send(mobile=loan.applicant.mobile, template=case.step_template or "collection_reminder",
                     related=case, dedupe_key=key,
                     context={"loan": loan.number, "dpd": loan.days_past_due,
                              "amount": f"{loan_quote(loan=loan, kind='payoff').payable:.2f}"})
        except ContactRefused:
            counts["refused"] += 1
            continue
        except ValidationError as exc:
            log.warning("collection reminder for case %s not sent: %s", case.pk, exc)
            counts["failed"] += 1
            continue
        counts["sent"] += 1
    return counts


