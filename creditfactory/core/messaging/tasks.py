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


@shared_task(name="core.sms_deliver_batch", acks_late=True, ignore_result=True)
def sms_deliver_batch(message_ids: list[int]) -> dict:
    """Deliver a batch of queued texts (``sms_send_many``: the daily close's reminders), one
    attempt each, in turn — one broker message for the batch instead of one per text. Each
    attempt is idempotent (a text sent already, or being sent by another worker, is skipped), so
    a redelivered batch sends nothing twice; a text to retry leaves the batch for an
    ``sms_deliver`` task of its own with the usual back-off."""
    from .services import retry_countdown, sms_attempt_delivery

    outcomes: dict[str, int] = {}
    for message_id in message_ids:
        outcome = sms_attempt_delivery(message_id=message_id)
        if outcome.retry:
            sms_deliver.apply_async((message_id,), countdown=retry_countdown(outcome.attempts))
        outcomes[outcome.status] = outcomes.get(outcome.status, 0) + 1
    return outcomes


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
