"""Which providers exist for which source. Provider choice per source is configuration
(``DataSourceConfig.provider``, default "sandbox"); this registry maps the name to the class.

A real provider module defines ``Provider`` subclasses decorated with ``@register`` and is
listed in ``PROVIDER_MODULES``.
"""

from __future__ import annotations

from importlib import import_module

from django.utils.translation import gettext as _

from .base import DataSourceError, Provider

__all__ = ["PROVIDER_MODULES", "provider_choices", "provider_class", "register"]

PROVIDER_MODULES = ("risk.datasources.sandbox",)

_PROVIDERS: dict[str, dict[str, type[Provider]]] = {}
_loaded = False


def register(cls: type[Provider]) -> type[Provider]:
    _PROVIDERS.setdefault(cls.source, {})[cls.name] = cls
    return cls


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in PROVIDER_MODULES:
            import_module(module)
        _loaded = True


def provider_class(source: str, name: str) -> type[Provider]:
    _load()
    try:
        return _PROVIDERS[source][name]
    except KeyError:
        raise DataSourceError(
            source, _("No provider %(name)s is registered for %(source)s.") % {"name": name, "source": source},
            retryable=False,
        ) from None


def provider_choices() -> list[tuple[str, str]]:
    """Every provider name with its label, across sources."""
    _load()
    names: dict[str, str] = {}
    for providers in _PROVIDERS.values():
        for name, cls in providers.items():
            names.setdefault(name, str(cls.label or name))
    return sorted(names.items())
