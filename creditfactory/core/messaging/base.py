"""The SMS provider interface every gateway adapter implements, and the errors it may raise.

An adapter gets the rendered text (for gateways that take free text) and the template code with
its parameters (for gateways such as Aliyun or Tencent Cloud that send pre-approved templates),
and either returns a receipt or raises: ``SmsTemporaryError`` when trying again may work
(throttled, timeout), ``SmsPermanentError`` when it never will (number unreachable, content
refused).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "OutgoingSms",
    "SendReceipt",
    "SmsPermanentError",
    "SmsProvider",
    "SmsProviderError",
    "SmsTemporaryError",
    "count_segments",
]

# GSM-7 is rare in China: a text with any Chinese character is UCS-2, 70 characters in one
# segment, 67 per segment once it is split. Gateways bill per segment.
SINGLE_SEGMENT_CHARS = 70
MULTI_SEGMENT_CHARS = 67


def count_segments(text: str) -> int:
    length = len(text)
    if length <= SINGLE_SEGMENT_CHARS:
        return 1
    return math.ceil(length / MULTI_SEGMENT_CHARS)


@dataclass(frozen=True)
class OutgoingSms:
    mobile: str
    text: str
    template: str
    params: dict = field(default_factory=dict)
    sender: str = ""
    reference: str = ""  # our outbox id, echoed by gateways in delivery reports
    attempt: int = 1


@dataclass(frozen=True)
class SendReceipt:
    provider_message_id: str
    segments: int
    cost: Decimal


class SmsProviderError(Exception):
    retryable = False

    def __init__(self, code: str, message: str = ""):
        self.code = code
        super().__init__(message or code)


class SmsTemporaryError(SmsProviderError):
    retryable = True


class SmsPermanentError(SmsProviderError):
    retryable = False


class SmsProvider(ABC):
    """A gateway. Instances are built per delivery from settings, so they hold no state that
    must survive a process."""

    name: str = ""

    @abstractmethod
    def send(self, message: OutgoingSms) -> SendReceipt:
        """Hand ``message`` to the gateway; return its receipt or raise an ``SmsProviderError``."""
