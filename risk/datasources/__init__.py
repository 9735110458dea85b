"""Data sources (数据采集) behind adapters: the provider interface, the registry that maps a
configured provider name to its class, the adapter doing cache, timeout, retries and cost,
and the sandbox providers. Callers use ``source_fetch`` (or ``risk.features.gather_features``)."""

from .base import QUERY_FIELDS, RESULT_FIELDS, DataSourceError, DataSourceTimeout, Provider, Query
from .registry import provider_choices, provider_class, register

__all__ = [
    "DataSourceError",
    "DataSourceTimeout",
    "Provider",
    "QUERY_FIELDS",
    "Query",
    "RESULT_FIELDS",
    "provider_choices",
    "provider_class",
    "register",
]
