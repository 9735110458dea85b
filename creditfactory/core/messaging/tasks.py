"""Celery task delivering the SMS outbox: thin, idempotent, retried with exponential back-off."""

from celery import shared_task


@shared_task(bind=True, name="core.sms_deliver", acks_late=True, max_retries=None)
def sms_deliver(self, message_id: int) -> str:
    from .services import retry_countdown, sms_attempt_delivery

    outcome = sms_attempt_delivery(message_id=message_id)
    # Eager mode (``make run``, tests) has no broker to hold a countdown: try again at once.
    # The loop ends because every attempt counts towards SMS_MAX_ATTEMPTS.
    while outcome.retry and self.request.is_eager:
        outcome = sms_attempt_delivery(message_id=message_id)
    if outcome.retry:
        # The message decides when to stop (SMS_MAX_ATTEMPTS), not Celery's retry counter.
        raise self.retry(countdown=retry_countdown(outcome.attempts))
    return outcome.status


@shared_task(bind=True, name="core.voice_deliver", acks_late=True, max_retries=None)
def voice_deliver(self, call_id: int) -> str:
    from .voice_services import voice_attempt_call, voice_retry_countdown

    outcome = voice_attempt_call(call_id=call_id)
    # Eager mode has no broker to hold a countdown: call again at once (VOICE_MAX_ATTEMPTS ends it).
    while outcome.retry and self.request.is_eager:
        outcome = voice_attempt_call(call_id=call_id)
    if outcome.retry:
        raise self.retry(countdown=voice_retry_countdown(outcome.attempts))
    return outcome.status
