"""The voice-robot provider interface (语音机器人外呼) every call-centre adapter implements, its
errors and its registry (``settings.VOICE_PROVIDERS``, ``VOICE_PROVIDER``).

An adapter places one call reading the rendered script and returns how it ended — answered (with
its duration and cost) or not answered — or raises: ``VoiceTemporaryError`` when calling again
may work (line busy, throttled), ``VoicePermanentError`` when it never will (number unreachable).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

__all__ = ["CallReceipt", "OutgoingCall", "VoicePermanentError", "VoiceProvider", "VoiceProviderError",
           "VoiceTemporaryError", "default_voice_provider_name", "get_voice_provider", "register_voice_provider",
           "unregister_voice_provider"]

ANSWERED = "answered"
NO_ANSWER = "no_answer"


@dataclass(frozen=True)
class OutgoingCall:
    mobile: str
    text: str
    template: str
    params: dict = field(default_factory=dict)
    reference: str = ""  # our outbox id, echoed by providers in call reports
    attempt: int = 1


@dataclass(frozen=True)
class CallReceipt:
    provider_call_id: str
    outcome: str  # ANSWERED or NO_ANSWER
    duration_seconds: int
    cost: Decimal


class VoiceProviderError(Exception):
    retryable = False

    def __init__(self, code: str, message: str = ""):
        self.code = code
        super().__init__(message or code)


class VoiceTemporaryError(VoiceProviderError):
    retryable = True


class VoicePermanentError(VoiceProviderError):
    retryable = False


class VoiceProvider(ABC):
    """A voice-robot call centre. Built per call from settings: no state that must survive."""

    name: str = ""

    @abstractmethod
    def call(self, call: OutgoingCall) -> CallReceipt:
        """Place ``call``; return how it ended or raise a ``VoiceProviderError``."""


_registered: dict[str, type[VoiceProvider]] = {}


def register_voice_provider(name: str, provider_class: type[VoiceProvider]) -> None:
    _registered[name] = provider_class


def unregister_voice_provider(name: str) -> None:
    _registered.pop(name, None)


def default_voice_provider_name() -> str:
    return getattr(settings, "VOICE_PROVIDER", "sandbox") or "sandbox"


def get_voice_provider(name: str | None = None) -> VoiceProvider:
    name = name or default_voice_provider_name()
    provider_class = _registered.get(name)
    if provider_class is None:
        path = (getattr(settings, "VOICE_PROVIDERS", None) or {}).get(name)
        if path is None:
            raise ImproperlyConfigured(f"Voice provider {name!r} is not in VOICE_PROVIDERS.")
        provider_class = import_string(path)
    return provider_class()
