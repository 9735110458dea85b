"""Automated reminders of the strategies, by SMS (the SMS outbox) or by voice robot (the voice
outbox, 语音机器人): each open case whose step in force is a reminder gets one every
``cadence_days`` days from the day the step began. Each goes through ``contact_record``, so the
compliance rules hold for robots too (sent in contact hours by a beat task, refused under a
hardship hold or past the daily limit — across channels — the refusal logged).

A voice reminder's contact is recorded as ``calling`` when the call is queued (it counts towards
the day's limit from then) and takes the call's result when the call ends (``voice_reminder_result``,
a ``VOICE_RESULT_HOOKS`` entry): answered → reached, not answered → no answer, failed → not
connected; the change is logged."""

from __future__ import annotations

import datetime
import logging

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import OuterRef, Subquery

from creditfactory.core.messaging.services import sms_send
from creditfactory.core.messaging.templates import SmsTemplate, register_template
from creditfactory.core.messaging.voice_services import voice_call
from creditfactory.core.models import SmsMessage, VoiceCall, VoiceCallStatus
from creditfactory.core.state import record_transition
from servicing.services.calendar import business_date as current_business_date
from servicing.services.repayments.quotes import loan_quote

from ..models import ActionKind, CaseStatus, CollectionCase, Contact, ContactChannel, ContactResult, StrategyStep
from .contacts import ContactRefused, contact_record

__all__ = ["collection_reminders_send", "voice_reminder_result"]

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
register_template(SmsTemplate(
    code="collection_voice_reminder",
    texts={
        "zh-hans": "您好，这里是贷后服务中心。您的贷款{loan}已逾期{dpd}天，应还{amount}元，请尽快还款。"
                   "如有困难，请致电我们申请协商。",
        "en": "Hello, this is the loan service centre. Loan {loan} is {dpd} days overdue: {amount} yuan to pay. "
              "Please pay soon, or call us if you are in difficulty.",
    },
    description="Collection reminder read by the voice robot (the strategy's voice reminder step).",
    channel="voice",
))

_CALL_RESULT = {VoiceCallStatus.ANSWERED: ContactResult.REACHED, VoiceCallStatus.NO_ANSWER: ContactResult.NO_ANSWER,
                VoiceCallStatus.FAILED: ContactResult.FAILED}


def _dedupe_key(case_id: int, day: datetime.date, channel: str) -> str:
    return f"collection/{case_id}/{day.isoformat()}" if channel == ContactChannel.SMS else \
        f"collection-voice/{case_id}/{day.isoformat()}"


def _remind(case: CollectionCase, *, channel: str, template: str, key: str) -> str:
    """One reminder: "sent", "refused" or "failed" (nothing written but the refusal's log)."""
    loan = case.loan
    context = {"loan": loan.number, "dpd": loan.days_past_due,
               "amount": f"{loan_quote(loan=loan, kind='payoff').payable:.2f}"}
    try:
        with transaction.atomic():
            try:
                contact = contact_record(case=case, channel=channel,
                                         result=ContactResult.SENT if channel == ContactChannel.SMS
                                         else ContactResult.CALLING)
            except ContactRefused:  # its log row is kept: leave the block normally
                return "refused"
            if channel == ContactChannel.SMS:
                sms_send(mobile=loan.applicant.mobile, template=template or "collection_reminder",
                         related=case, dedupe_key=key, context=context)
            else:
                voice_call(mobile=loan.applicant.mobile, template=template or "collection_voice_reminder",
                           related=contact, dedupe_key=key, context=context)
    except ValidationError as exc:
        log.warning("collection reminder for case %s not sent: %s", case.pk, exc)
        return "failed"
    return "sent"


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
        channel = ContactChannel.SMS if case.step_kind == ActionKind.SMS else ContactChannel.VOICE
        key = _dedupe_key(case.pk, day, channel)
        outbox = SmsMessage if channel == ContactChannel.SMS else VoiceCall
        if outbox.objects.filter(dedupe_key=key).exists():  # sent already (a re-run)
            continue
        counts[_remind(case, channel=channel, template=case.step_template, key=key)] += 1
    return counts


def voice_reminder_result(*, call: VoiceCall) -> None:
    """A ``VOICE_RESULT_HOOKS`` entry: the call's result onto its collection contact (once)."""
    if call.related_content_type_id != ContentType.objects.get_for_model(Contact).pk:
        return
    result = _CALL_RESULT.get(call.status)
    if result is None:
        return
    contact = Contact.objects.filter(pk=call.related_object_id).first()
    if contact is None:
        return
    if Contact.objects.filter(pk=contact.pk, result=ContactResult.CALLING).update(result=result):
        record_transition(contact, from_state=ContactResult.CALLING, to_state=result, field="result",
                          actor_label="voice robot")
