"""Providers by name (the values of ``PaymentProvider``)."""

from .base import PaymentProviderBase

_PROVIDERS: dict[str, type[PaymentProviderBase]] = {}


def register(cls: type[PaymentProviderBase]) -> type[PaymentProviderBase]:
    _PROVIDERS[cls.name] = cls
    return cls


def provider_for(channel) -> PaymentProviderBase:
    from . import sandbox  # noqa: F401  (registers itself)

    return _PROVIDERS[channel.provider](channel)
