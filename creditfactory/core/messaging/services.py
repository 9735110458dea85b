"""Sending text messages: the outbox write (in the caller's transaction) and one delivery attempt
(run by the ``core.sms_deliver`` task after commit)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..locks import sms_message_lock, sms_message_lock_if_free
from ..models import SmsMessage, SmsStatus
from ..tasks import enqueue_batches_on_commit, enqueue_on_commit
from ..validators import normalise_mobile as normalise_mobile_number
from .base import OutgoingSms, SmsProviderError
from .registry import default_provider_name, get_provider
from .templates import TemplateError, render_template

__all__ = ["DeliveryOutcome", "OutboxText", "normalise_mobile", "retry_countdown", "sms_attempt_delivery",
           "sms_requeue", "sms_send", "sms_send_many"]

logger = logging.getLogger(__name__)

def normalise_mobile(value: str) -> str:
    """``creditfactory.core.validators.normalise_mobile``, its error under the ``mobile`` field."""
    try:
        return normalise_mobile_number(value)
    except ValidationError as exc:
        raise ValidationError({"mobile": exc}) from None


@transaction.atomic
def sms_send(*, mobile: str, template: str, context: dict, related=None, language: str | None = None,
             dedupe_key: str | None = None) -> SmsMessage:
    """Queue a text to ``mobile`` rendered from ``template``; it is delivered after the caller's
    transaction commits. With ``dedupe_key``, a second call returns the first message."""
    number = normalise_mobile(mobile)
    language = language or settings.SMS_DEFAULT_LANGUAGE
    try:
        text = render_template(template, context, language=language, signature=settings.SMS_SIGNATURE)
    except TemplateError as exc:
        raise ValidationError({exc.field: ValidationError(str(exc), code="invalid_template")}) from None

    if dedupe_key:
        existing = SmsMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    fields = dict(
        mobile=number, template=template, language=language, text=text, provider=default_provider_name(),
        dedupe_key=dedupe_key or None,
    )
    if related is not None:
        fields.update(related_content_type=ContentType.objects.get_for_model(related),
                      related_object_id=str(related.pk))
    try:
        with transaction.atomic():
            message = SmsMessage.objects.create(**fields)
    except IntegrityError:
        if not dedupe_key:
            raise
        # A concurrent send with the same key won the insert.
        return SmsMessage.objects.get(dedupe_key=dedupe_key)

    from .tasks import sms_deliver

    enqueue_on_commit(sms_deliver, message.pk)
    return message


@dataclass(frozen=True)
class OutboxText:
    """One text for ``sms_send_many``: as ``sms_send``'s arguments, the de-duplication key required."""

    mobile: str
    template: str
    context: dict
    dedupe_key: str
    related: object = None


def sms_send_many(*, texts: list[OutboxText], language: str | None = None) -> tuple[int, list[tuple[str, str]]]:
    """Queue many texts at once (the daily close's reminders): those whose ``dedupe_key`` was sent
    before are skipped (one query), the others written in one insert and delivered after the
    caller's transaction commits, ``SMS_BATCH_SIZE`` per task (``sms_deliver_batch``). A text that cannot be sent (a mobile that
    is not one) is left out and reported. Returns (texts queued, [(key, error)])."""
    if not texts:
        return 0, []
    language = language or settings.SMS_DEFAULT_LANGUAGE
    sent = set(SmsMessage.objects.filter(dedupe_key__in=[t.dedupe_key for t in texts])
               .values_list("dedupe_key", flat=True))
    provider, rows, pending, refused, types = default_provider_name(), [], [], [], {}
    for text in texts:
        if text.dedupe_key in sent:
            continue
        sent.add(text.dedupe_key)
        try:
            number = normalise_mobile(text.mobile)
            body = render_template(text.template, text.context, language=language, signature=settings.SMS_SIGNATURE)
        except (ValidationError, TemplateError) as exc:
            refused.append((text.dedupe_key, str(exc)))
            continue
        fields = {}
        if text.related is not None:
            model = type(text.related)
            content_type = types.get(model) or types.setdefault(model, ContentType.objects.get_for_model(model))
            fields = {"related_content_type": content_type, "related_object_id": str(text.related.pk)}
        rows.append(SmsMessage(mobile=number, template=text.template, language=language, text=body, provider=provider,
                               dedupe_key=text.dedupe_key, **fields))
        pending.append(text)
    try:
        with transaction.atomic():
            created = SmsMessage.objects.bulk_create(rows)
    except IntegrityError:  # a concurrent send took one of the keys: one by one, as sms_send does
        for text in pending:
            sms_send(mobile=text.mobile, template=text.template, context=text.context, language=language,
                     dedupe_key=text.dedupe_key, related=text.related)
        return len(pending), refused
    from .tasks import sms_deliver_batch

    enqueue_batches_on_commit(sms_deliver_batch, [message.pk for message in created], size=settings.SMS_BATCH_SIZE)
    return len(created), refused


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # sent | failed | retry | skipped
    attempts: int = 0

    @property
    def retry(self) -> bool:
        return self.status == "retry"


def retry_countdown(attempts: int) -> int:
    """Exponential back-off after ``attempts`` failed tries: base, 2×base, 4×base … capped."""
    base = settings.SMS_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.SMS_RETRY_BACKOFF_MAX_SECONDS)


@transaction.atomic
def sms_attempt_delivery(*, message_id: int) -> DeliveryOutcome:
    """Try to hand one queued message to its provider. Idempotent: a message that is no longer
    queued, or that another worker is sending right now (row locked), is left alone."""
    message = sms_message_lock_if_free(message_id)
    if message is None or message.status != SmsStatus.QUEUED:
        return DeliveryOutcome("skipped", message.attempts if message else 0)

    now = timezone.now()
    message.attempts += 1
    message.last_attempt_at = now
    update_fields = ["attempts", "last_attempt_at", "status", "error", "updated_at"]
    outgoing = OutgoingSms(
        mobile=message.mobile, text=message.text, template=message.template, sender=settings.SMS_SIGNATURE,
        reference=str(message.pk), attempt=message.attempts,
    )
    try:
        receipt = get_provider(message.provider).send(outgoing)
    except Exception as exc:  # noqa: BLE001 - any gateway failure is recorded on the message
        retryable = exc.retryable if isinstance(exc, SmsProviderError) else True
        code = exc.code if isinstance(exc, SmsProviderError) else type(exc).__name__
        message.error = f"{code}: {exc}"[:1000]
        exhausted = message.attempts >= settings.SMS_MAX_ATTEMPTS
        message.status = SmsStatus.FAILED if (not retryable or exhausted) else SmsStatus.QUEUED
        message.save(update_fields=update_fields)
        logger.warning("sms %s attempt %s failed: %s", message.pk, message.attempts, code)
        if message.status == SmsStatus.FAILED:
            return DeliveryOutcome("failed", message.attempts)
        return DeliveryOutcome("retry", message.attempts)

    message.status = SmsStatus.SENT
    message.error = ""
    message.sent_at = now
    message.provider_message_id = receipt.provider_message_id
    message.segments = receipt.segments
    message.cost = receipt.cost
    message.save(update_fields=[*update_fields, "sent_at", "provider_message_id", "segments", "cost"])
    return DeliveryOutcome("sent", message.attempts)


@transaction.atomic
def sms_requeue(*, message: SmsMessage, actor=None) -> SmsMessage:
    """Send a failed message again (an operator fixed the number or the gateway is back)."""
    message = sms_message_lock(message.pk)
    if message.status != SmsStatus.FAILED:
        raise ValidationError({"status": _("Only failed messages can be sent again.")})
    message.status = SmsStatus.QUEUED
    message.attempts = 0
    message.save(update_fields=["status", "attempts", "updated_at"])
    from .tasks import sms_deliver

    enqueue_on_commit(sms_deliver, message.pk)
    return message
