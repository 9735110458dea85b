"""Which provider sends: ``settings.SMS_PROVIDERS`` maps names to classes, ``SMS_PROVIDER``
names the one for new messages. Tests and plug-ins may register a provider in code."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from .base import SmsProvider

__all__ = ["default_provider_name", "get_provider", "register_provider", "unregister_provider"]

_registered: dict[str, type[SmsProvider]] = {}


def register_provider(name: str, provider_class: type[SmsProvider]) -> None:
    _registered[name] = provider_class


def unregister_provider(name: str) -> None:
    _registered.pop(name, None)


def default_provider_name() -> str:
    return getattr(settings, "SMS_PROVIDER", "sandbox") or "sandbox"


def get_provider(name: str | None = None) -> SmsProvider:
    name = name or default_provider_name()
    provider_class = _registered.get(name)
    if provider_class is None:
        path = (getattr(settings, "SMS_PROVIDERS", None) or {}).get(name)
        if path is None:
            raise ImproperlyConfigured(f"SMS provider {name!r} is not in SMS_PROVIDERS.")
        provider_class = import_string(path)
    return provider_class()
