"""Robot voice calls (语音机器人): the outbox write (in the caller's transaction) and one call
attempt (run by the ``core.voice_deliver`` task after commit). When a call ends — answered, not
answered or failed — each function named in ``settings.VOICE_RESULT_HOOKS`` is called with it,
in the same transaction, so what the call was about (``related``, e.g. a collection contact)
records the result. The hooks are named in settings because the apps that use calls sit above
core."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from ..locks import voice_call_lock_if_free
from ..models import VoiceCall, VoiceCallStatus
from ..tasks import enqueue_on_commit
from .services import DeliveryOutcome, normalise_mobile
from .templates import TemplateError, render_template
from .voice import ANSWERED, OutgoingCall, VoiceProviderError, default_voice_provider_name, get_voice_provider

__all__ = ["voice_attempt_call", "voice_call", "voice_retry_countdown"]

logger = logging.getLogger(__name__)


@transaction.atomic
def voice_call(*, mobile: str, template: str, context: dict, related=None, language: str | None = None,
               dedupe_key: str | None = None) -> VoiceCall:
    """Queue a robot call to ``mobile`` reading the voice ``template``; it is placed after the
    caller's transaction commits. With ``dedupe_key``, a second call returns the first one.
    Raises ``ValidationError`` naming the field (mobile, template, language, context)."""
    number = normalise_mobile(mobile)
    language = language or settings.SMS_DEFAULT_LANGUAGE
    try:
        text = render_template(template, context, language=language, signature="", channel="voice")
    except TemplateError as exc:
        raise ValidationError({exc.field: ValidationError(str(exc), code="invalid_template")}) from None
    if dedupe_key:
        existing = VoiceCall.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    fields = dict(mobile=number, template=template, language=language, text=text,
                  provider=default_voice_provider_name(), dedupe_key=dedupe_key or None)
    if related is not None:
        fields.update(related_content_type=ContentType.objects.get_for_model(related),
                      related_object_id=str(related.pk))
    try:
        with transaction.atomic():
            call = VoiceCall.objects.create(**fields)
    except IntegrityError:
        if not dedupe_key:
            raise
        return VoiceCall.objects.get(dedupe_key=dedupe_key)
    from .tasks import voice_deliver

    enqueue_on_commit(voice_deliver, call.pk)
    return call


def voice_retry_countdown(attempts: int) -> int:
    """Exponential back-off after ``attempts`` busy lines: base, 2×base, 4×base … capped."""
    base = settings.VOICE_RETRY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempts - 1, 0), settings.VOICE_RETRY_BACKOFF_MAX_SECONDS)


def _finished(call: VoiceCall) -> None:
    for path in getattr(settings, "VOICE_RESULT_HOOKS", ()):
        import_string(path)(call=call)


@transaction.atomic
def voice_attempt_call(*, call_id: int) -> DeliveryOutcome:
    """Place one queued call. Idempotent: a call no longer queued, or being placed by another
    worker right now (row locked), is left alone. Returns the outcome (answered, no_answer,
    failed, retry or skipped)."""
    call = voice_call_lock_if_free(call_id)
    if call is None or call.status != VoiceCallStatus.QUEUED:
        return DeliveryOutcome("skipped", call.attempts if call else 0)
    now = timezone.now()
    call.attempts += 1
    call.last_attempt_at = now
    update_fields = ["attempts", "last_attempt_at", "status", "error", "finished_at", "updated_at"]
    outgoing = OutgoingCall(mobile=call.mobile, text=call.text, template=call.template, reference=str(call.pk),
                            attempt=call.attempts)
    try:
        receipt = get_voice_provider(call.provider).call(outgoing)
    except Exception as exc:  # noqa: BLE001 - any provider failure is recorded on the call
        retryable = exc.retryable if isinstance(exc, VoiceProviderError) else True
        code = exc.code if isinstance(exc, VoiceProviderError) else type(exc).__name__
        call.error = f"{code}: {exc}"[:1000]
        exhausted = call.attempts >= settings.VOICE_MAX_ATTEMPTS
        call.status = VoiceCallStatus.FAILED if (not retryable or exhausted) else VoiceCallStatus.QUEUED
        call.finished_at = now if call.status == VoiceCallStatus.FAILED else None
        call.save(update_fields=update_fields)
        logger.warning("voice call %s attempt %s failed: %s", call.pk, call.attempts, code)
        if call.status == VoiceCallStatus.FAILED:
            _finished(call)
            return DeliveryOutcome("failed", call.attempts)
        return DeliveryOutcome("retry", call.attempts)
    call.status = VoiceCallStatus.ANSWERED if receipt.outcome == ANSWERED else VoiceCallStatus.NO_ANSWER
    call.error = ""
    call.finished_at = now
    call.provider_call_id = receipt.provider_call_id
    call.duration_seconds = receipt.duration_seconds
    call.cost = receipt.cost
    call.save(update_fields=[*update_fields, "provider_call_id", "duration_seconds", "cost"])
    _finished(call)
    return DeliveryOutcome(call.status, call.attempts)
