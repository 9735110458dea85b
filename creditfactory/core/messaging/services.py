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
from ..tasks import enqueue_on_commit
from ..validators import normalise_mobile as normalise_mobile_number
from .base import OutgoingSms, SmsProviderError
from .registry import default_provider_name, get_provider
from .templates import TemplateError, render_template

__all__ = ["DeliveryOutcome", "normalise_mobile", "retry_countdown", "sms_attempt_delivery", "sms_requeue",
           "sms_send"]

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
