"""The sandbox SMS gateway: behaves like a real one without texting anybody.

It answers after ``SMS_SANDBOX_LATENCY_MS``, bills ``SMS_SANDBOX_COST`` per segment, returns a
gateway message id, keeps what it accepted in ``SandboxSms`` (the phone's inbox for demo and
tests), and fails on purpose:

=============================  ===================================================
mobile ends in                 behaviour
=============================  ===================================================
``0000``                       permanent failure ``unreachable`` (空号/停机)
``0001``                       temporary ``busy`` on the first attempt, then delivered
``0002``                       temporary ``timeout`` on every attempt
anything else                  delivered; a temporary ``throttled`` failure with
                               probability ``SMS_SANDBOX_FAILURE_RATE``
=============================  ===================================================

The sandbox voice robot (``SandboxVoiceProvider``) places no call either. It answers after
``VOICE_SANDBOX_LATENCY_MS``; an answered call lasts the time its script takes to read (5 s to
connect + 1 s per 4 characters) and is billed ``VOICE_SANDBOX_COST_PER_MINUTE`` per started
minute; an unanswered or failed call costs nothing (docs/sandbox.md):

=============================  ===================================================
mobile ends in                 behaviour
=============================  ===================================================
``0000``                       permanent failure ``unreachable`` (空号/停机)
``0001``                       temporary ``busy`` on the first attempt, then answered
``0003``                       rings out: not answered
``0004``                       temporary ``busy`` on every attempt (failed after
                               ``VOICE_MAX_ATTEMPTS``)
anything else                  answered; a temporary ``busy`` failure with probability
                               ``VOICE_SANDBOX_FAILURE_RATE``
=============================  ===================================================
"""

from __future__ import annotations

import math
import random
import time
import uuid
from decimal import Decimal

from django.conf import settings

from ..money import to_decimal
from .base import OutgoingSms, SendReceipt, SmsPermanentError, SmsProvider, SmsTemporaryError, count_segments

from .voice import ANSWERED, NO_ANSWER, CallReceipt, OutgoingCall, VoicePermanentError, VoiceProvider, VoiceTemporaryError

__all__ = ["SANDBOX_SUFFIXES", "SandboxSmsProvider", "SandboxVoiceProvider", "VOICE_SANDBOX_SUFFIXES",
           "sandbox_inbox"]

UNREACHABLE_SUFFIX = "0000"
BUSY_ONCE_SUFFIX = "0001"
ALWAYS_TIMEOUT_SUFFIX = "0002"
SANDBOX_SUFFIXES = {
    UNREACHABLE_SUFFIX: "unreachable (permanent)",
    BUSY_ONCE_SUFFIX: "busy on the first attempt (temporary), then delivered",
    ALWAYS_TIMEOUT_SUFFIX: "timeout on every attempt (temporary)",
}


VOICE_UNREACHABLE_SUFFIX = "0000"
VOICE_BUSY_ONCE_SUFFIX = "0001"
VOICE_NO_ANSWER_SUFFIX = "0003"
VOICE_ALWAYS_BUSY_SUFFIX = "0004"
VOICE_SANDBOX_SUFFIXES = {
    VOICE_UNREACHABLE_SUFFIX: "unreachable (permanent): failed",
    VOICE_BUSY_ONCE_SUFFIX: "busy on the first attempt (temporary), then answered",
    VOICE_NO_ANSWER_SUFFIX: "rings out: not answered",
    VOICE_ALWAYS_BUSY_SUFFIX: "busy on every attempt (temporary): failed after VOICE_MAX_ATTEMPTS",
}


def _rng() -> random.Random:
    seed = getattr(settings, "SMS_SANDBOX_SEED", "") or None
    return random.Random(seed)


class SandboxSmsProvider(SmsProvider):
    name = "sandbox"

    def __init__(self, *, latency_ms: int | None = None, failure_rate=None, unit_cost=None,
                 rng: random.Random | None = None):
        self.latency_ms = settings.SMS_SANDBOX_LATENCY_MS if latency_ms is None else latency_ms
        self.failure_rate = float(settings.SMS_SANDBOX_FAILURE_RATE if failure_rate is None else failure_rate)
        self.unit_cost = to_decimal(settings.SMS_SANDBOX_COST if unit_cost is None else unit_cost)
        self.rng = rng or _rng()

    def send(self, message: OutgoingSms) -> SendReceipt:
        from ..models import SandboxSms

        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        if message.mobile.endswith(UNREACHABLE_SUFFIX):
            raise SmsPermanentError("unreachable", "The number is unreachable (sandbox).")
        if message.mobile.endswith(ALWAYS_TIMEOUT_SUFFIX):
            raise SmsTemporaryError("timeout", "The gateway timed out (sandbox).")
        if message.mobile.endswith(BUSY_ONCE_SUFFIX) and message.attempt <= 1:
            raise SmsTemporaryError("busy", "The gateway is busy, try again (sandbox).")
        if self.failure_rate > 0 and self.rng.random() < self.failure_rate:
            raise SmsTemporaryError("throttled", "Sending rate exceeded (sandbox failure rate).")

        segments = count_segments(message.text)
        cost = (self.unit_cost * segments).quantize(Decimal("0.0001"))
        message_id = f"SBX{uuid.uuid4().hex[:20].upper()}"
        SandboxSms.objects.create(
            message_id=message_id, mobile=message.mobile, sender=message.sender, template=message.template,
            text=message.text, reference=message.reference, attempt=message.attempt, segments=segments, cost=cost,
        )
        return SendReceipt(provider_message_id=message_id, segments=segments, cost=cost)


def sandbox_call_seconds(text: str) -> int:
    """How long the sandbox robot takes to read ``text``: 5 s to connect, 1 s per 4 characters."""
    return 5 + math.ceil(len(text) / 4)


class SandboxVoiceProvider(VoiceProvider):
    name = "sandbox"

    def __init__(self, *, latency_ms: int | None = None, failure_rate=None, cost_per_minute=None,
                 rng: random.Random | None = None):
        self.latency_ms = settings.VOICE_SANDBOX_LATENCY_MS if latency_ms is None else latency_ms
        self.failure_rate = float(settings.VOICE_SANDBOX_FAILURE_RATE if failure_rate is None else failure_rate)
        self.cost_per_minute = to_decimal(settings.VOICE_SANDBOX_COST_PER_MINUTE if cost_per_minute is None
                                          else cost_per_minute)
        self.rng = rng or random.Random(getattr(settings, "VOICE_SANDBOX_SEED", "") or None)

    def call(self, call: OutgoingCall) -> CallReceipt:
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        if call.mobile.endswith(VOICE_UNREACHABLE_SUFFIX):
            raise VoicePermanentError("unreachable", "The number is unreachable (sandbox).")
        if call.mobile.endswith(VOICE_ALWAYS_BUSY_SUFFIX) or (
                call.mobile.endswith(VOICE_BUSY_ONCE_SUFFIX) and call.attempt <= 1):
            raise VoiceTemporaryError("busy", "The line is busy, call again (sandbox).")
        if self.failure_rate > 0 and self.rng.random() < self.failure_rate:
            raise VoiceTemporaryError("busy", "The line is busy (sandbox failure rate).")
        call_id = f"SBV{uuid.uuid4().hex[:20].upper()}"
        if call.mobile.endswith(VOICE_NO_ANSWER_SUFFIX):
            return CallReceipt(provider_call_id=call_id, outcome=NO_ANSWER, duration_seconds=0, cost=Decimal("0"))
        seconds = sandbox_call_seconds(call.text)
        cost = (self.cost_per_minute * math.ceil(seconds / 60)).quantize(Decimal("0.0001"))
        return CallReceipt(provider_call_id=call_id, outcome=ANSWERED, duration_seconds=seconds, cost=cost)


def sandbox_inbox(mobile: str | None = None):
    """What the sandbox delivered, oldest first; to one number if ``mobile`` is given."""
    from ..models import SandboxSms
    from ..pii import blind_index

    queryset = SandboxSms.objects.order_by("accepted_at", "id")
    if mobile:
        queryset = queryset.filter(mobile_index=blind_index("mobile", mobile))
    return queryset
