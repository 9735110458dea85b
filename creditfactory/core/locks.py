"""Row locks of core's records: every ``select_for_update`` of the app is here, by name.

Each function must run inside a transaction; the lock is held until it ends.
"""

from .models import SmsMessage, VoiceCall


def sms_message_lock(pk) -> SmsMessage:
    """The message, locked (waits for another holder)."""
    return SmsMessage.objects.select_for_update().get(pk=pk)


def sms_message_lock_if_free(pk) -> SmsMessage | None:
    """The message, locked, or None when it does not exist or another transaction holds it
    (``SKIP LOCKED``: a duplicate delivery task leaves it to the one already sending it)."""
    return SmsMessage.objects.select_for_update(skip_locked=True).filter(pk=pk).first()


def voice_call_lock_if_free(pk) -> VoiceCall | None:
    """The call, locked, or None when it does not exist or another worker is placing it."""
    return VoiceCall.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
