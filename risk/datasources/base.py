"""The provider interface every data source implementation follows, and its typed errors.

A provider answers one source (bureau, multi_lending, fraud, court, scenario) for one
``Query`` and returns a dict with exactly that source's result fields, the feature names of
``risk.catalogue`` without the ``<source>.`` prefix and without ``available`` (the adapter
coerces and checks them). A provider must honour ``timeout_s`` itself (HTTP client timeout,
or the sandbox's simulated clock) and raise ``DataSourceTimeout`` / ``DataSourceError``; the
adapter (``risk.datasources.adapter``) does retries, caching and cost recording around it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from risk.catalogue import CATALOGUE, SOURCES

__all__ = [
    "DataSourceError",
    "DataSourceTimeout",
    "Provider",
    "QUERY_FIELDS",
    "Query",
    "RESULT_FIELDS",
]


class DataSourceError(Exception):
    """A source failed to answer. ``retryable`` is False for errors a retry cannot fix
    (an unknown provider, a rejected query)."""

    def __init__(self, source: str, message: str = "", *, retryable: bool = True):
        self.source = source
        self.retryable = retryable
        self.attempts = 0
        self.call_id: int | None = None
        self.latency_ms = 0
        super().__init__(message or f"{source} failed")


class DataSourceTimeout(DataSourceError):
    """A source did not answer within its timeout."""


# The result fields of each source, taken from the catalogue: {source: {field: type}}.
RESULT_FIELDS: dict[str, dict[str, str]] = {
    source: {
        name.split(".", 1)[1]: feature.type
        for name, feature in CATALOGUE.items()
        if feature.source == source and name.startswith(f"{source}.") and not name.endswith(".available")
    }
    for source in SOURCES
}

# Which identifiers each source is queried with; a cached answer is reused only when these
# are unchanged (a new mobile or device asks the lists again).
QUERY_FIELDS: dict[str, tuple[str, ...]] = {
    "bureau": ("id_number", "name"),
    "multi_lending": ("id_number", "mobile"),
    "fraud": ("id_number", "mobile", "device_id"),
    "court": ("id_number", "name"),
    "scenario": ("id_number",),
}


@dataclass(frozen=True)
class Query:
    """The applicant's identifiers in plaintext. Lives in memory only: never logged or stored."""

    id_number: str
    name: str
    mobile: str
    device_id: str = ""
    birth_date: date | None = None

    def __repr__(self) -> str:  # keeps identifiers out of tracebacks and debug output
        return "Query(<protected>)"

    @classmethod
    def for_request(cls, request) -> Query:
        """The identifiers of a ``risk.requests.AssessmentRequest``'s applicant and device."""
        applicant = request.applicant
        return cls(
            id_number=applicant.id_number, name=applicant.name, mobile=applicant.mobile,
            device_id=request.device_id or "", birth_date=applicant.birth_date,
        )


class Provider(ABC):
    """One implementation of one source. Instantiated per call with its ``DataSourceConfig``."""

    source: ClassVar[str]
    name: ClassVar[str]
    label: ClassVar[str] = ""

    def __init__(self, config) -> None:
        self.config = config

    @abstractmethod
    def fetch(self, query: Query, *, timeout_s: float) -> dict:
        """Return the source's result fields for ``query`` or raise a ``DataSourceError``."""
