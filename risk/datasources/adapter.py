"""The adapter around every provider: configuration, per-applicant cache, timeout and retries,
cost recording, typed results.

``sources_fetch`` asks several sources at once (``source_fetch`` one). For each source and
the applicant it

1. reuses the newest successful answer to the same question (same provider and the same
   identifiers, see ``QUERY_FIELDS``) younger than ``cache_days``: the call is recorded as
   ``cached`` with cost 0 and ``cached_from`` pointing to the call that paid;
2. otherwise asks the configured provider up to ``1 + retries`` times, each attempt bounded by
   ``timeout_ms``, and records the call with its attempts, latency and ``cost_per_call``;
3. after the last failed attempt records the failure (cost 0) and returns the provider's
   ``DataSourceTimeout`` / ``DataSourceError`` with ``attempts`` and ``call_id`` set
   (``source_fetch`` raises it).

The fraud source also consults our own lists (``RiskListEntry``) on every call, cached or not:
they are local and free, and an entry added today must hit today. Retries are immediate; the
back-off between whole assessments belongs to the Celery task. A failed call is recorded in the
caller's transaction, so it disappears if the caller rolls back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from creditfactory.core.pii import blind_index
from risk.fastpath import DATA_SOURCE_CALLS
from risk.models import CallStatus, DataSourceCall, DataSourceConfig, ListKind, ListType, RiskListEntry

from .base import QUERY_FIELDS, RESULT_FIELDS, DataSourceError, DataSourceTimeout, Query
from .registry import provider_class

__all__ = [
    "FetchOutcome",
    "SourceAnswer",
    "configs_for",
    "decode_result",
    "encode_result",
    "own_list_hits",
    "source_fetch",
    "sources_fetch",
]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class SourceAnswer:
    source: str
    provider: str
    status: str  # "ok" | "cached"
    result: dict  # typed result fields
    summary: dict  # masked and JSON-safe, for display and the decision record
    cost: Decimal
    latency_ms: int
    call: DataSourceCall


def configs_for(sources) -> dict[str, DataSourceConfig]:
    """The configuration of each source; an unconfigured source gets the defaults (sandbox,
    free, no latency) so a fresh installation works."""
    found = {config.source: config for config in DataSourceConfig.objects.filter(source__in=list(sources))}
    return {source: found.get(source) or DataSourceConfig(source=source) for source in sources}


def encode_result(source: str, result: dict) -> dict:
    """Typed result → JSON-safe dict (Decimals as strings)."""
    return {name: str(value) if isinstance(value, Decimal) else value for name, value in result.items()}


def decode_result(source: str, data: dict) -> dict:
    """Check a provider's (or a stored) answer has exactly the source's fields, and type it."""
    fields = RESULT_FIELDS[source]
    missing, extra = set(fields) - set(data), set(data) - set(fields)
    if missing or extra:
        raise DataSourceError(
            source, f"{source}: malformed answer (missing {sorted(missing)}, unexpected {sorted(extra)})",
            retryable=False,
        )
    typed = {}
    for name, kind in fields.items():
        value = data[name]
        try:
            if kind == "bool":
                if not isinstance(value, bool):
                    raise TypeError
                typed[name] = value
            elif kind == "int":
                if isinstance(value, bool) or int(value) != value:
                    raise TypeError
                typed[name] = int(value)
            elif kind == "decimal":
                if isinstance(value, (bool, float)):
                    raise TypeError
                typed[name] = Decimal(str(value))
            else:
                typed[name] = str(value)
        except (TypeError, ValueError, ArithmeticError):
            raise DataSourceError(source, f"{source}: {name} is not a valid {kind}", retryable=False) from None
    return typed


def query_key(source: str, query: Query) -> str:
    parts = "|".join(str(getattr(query, field) or "") for field in QUERY_FIELDS[source])
    return blind_index("query", f"{source}|{parts}")


def own_list_hits(query: Query, *, now=None) -> list[RiskListEntry]:
    """Active, unexpired entries of our own lists matching the applicant's ID, mobile or device."""
    now = now or timezone.now()
    wanted = Q(kind=ListKind.ID_NUMBER, value_index=blind_index("id_number", query.id_number)) | Q(
        kind=ListKind.MOBILE, value_index=blind_index("mobile", query.mobile)
    )
    if query.device_id:
        wanted |= Q(kind=ListKind.DEVICE, value_index=blind_index("device", query.device_id))
    return list(
        RiskListEntry.objects.filter(wanted, active=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("list_type", "kind", "id")
    )


def merge_own_lists(result: dict, entries: list[RiskListEntry]) -> dict:
    """OR our own list hits into a fraud result (fraud list by kind; any risk-list entry)."""
    merged = dict(result)
    for entry in entries:
        if entry.list_type == ListType.FRAUD:
            merged[{"id_number": "id_hit", "mobile": "mobile_hit", "device": "device_hit"}[entry.kind]] = True
        else:
            merged["risk_list_hit"] = True
    return merged


def own_list_summary(entries: list[RiskListEntry]) -> list[dict]:
    return [
        {"list_type": e.list_type, "kind": e.kind, "value": e.value_masked, "reason": e.reason, "entry_id": e.pk}
        for e in entries
    ]


@dataclass(frozen=True)
class FetchOutcome:
    """What ``sources_fetch`` got: an answer or a failure per source, and our own list entries
    matching the applicant (when the fraud source was asked)."""

    answers: dict[str, SourceAnswer]
    failures: dict[str, DataSourceError]
    own_list_entries: list[RiskListEntry]
    calls: list[DataSourceCall] = field(default_factory=list)  # the calls still to write (``call_ids``)


def sources_fetch(*, sources, query: Query, applicant, application_id: int | None = None,
                  configs: dict[str, DataSourceConfig] | None = None, call_ids: list[int] | None = None,
                  own_list_entries: list[RiskListEntry] | None = None) -> FetchOutcome:
    """Ask several sources for one applicant (see the module docstring). Set-based: one query
    for the cache, one insert for all call records, one for our own lists. Failures are
    returned, not raised, with ``attempts``, ``call_id`` and ``latency_ms`` set.

    With ``call_ids`` (one reserved primary key per source, in order) the call records get those
    keys and are *not* inserted: the caller writes them (``FetchOutcome.calls``), e.g. with the
    record they belong to. ``own_list_entries``, when given, are our own lists' hits the caller
    read already (``own_list_hits``' entries)."""
    sources = list(sources)
    if call_ids is not None and len(call_ids) != len(sources):
        raise ValueError("one reserved call id per source")
    configs = configs or configs_for(sources)
    keys = {source: query_key(source, query) for source in sources}
    originals = _cached_originals(applicant=applicant, configs=configs, keys=keys)
    record = dict(applicant=applicant, application_id=application_id)

    pending: list[tuple[str, DataSourceCall, dict | DataSourceError]] = []
    for source in sources:
        config, original = configs[source], originals.get(source)
        if original is not None:
            call = DataSourceCall(
                **record, source=source, provider=config.provider, query_key=keys[source], status=CallStatus.CACHED,
                attempts=0, latency_ms=0, cost=ZERO, cached_from=original, result=original.result,
            )
            pending.append((source, call, decode_result(source, original.result)))
            continue
        result, attempts, latency_ms = _ask_provider(source=source, config=config, query=query)
        if isinstance(result, DataSourceError):
            call = DataSourceCall(
                **record, source=source, provider=config.provider, query_key=keys[source],
                status=CallStatus.TIMEOUT if isinstance(result, DataSourceTimeout) else CallStatus.ERROR,
                attempts=attempts, latency_ms=latency_ms, cost=ZERO, error=str(result)[:1000],
            )
        else:
            call = DataSourceCall(
                **record, source=source, provider=config.provider, query_key=keys[source], status=CallStatus.OK,
                attempts=attempts, latency_ms=latency_ms, cost=config.cost_per_call,
                result=encode_result(source, result),
            )
        pending.append((source, call, result))
    calls = [call for _source, call, _result in pending]
    if call_ids is None:
        # One multi-row INSERT, the statement built once per process (risk.fastpath).
        DATA_SOURCE_CALLS.insert_many(calls)
    else:
        for call, pk in zip(calls, call_ids):
            call.pk = pk

    answers: dict[str, SourceAnswer] = {}
    failures: dict[str, DataSourceError] = {}
    for source, call, result in pending:
        if isinstance(result, DataSourceError):
            result.attempts, result.call_id, result.latency_ms = call.attempts, call.pk, call.latency_ms
            failures[source] = result
            continue
        answers[source] = SourceAnswer(
            source=source, provider=call.provider, status="cached" if call.cached_from_id else "ok", result=result,
            summary=dict(call.result), cost=call.cost, latency_ms=call.latency_ms, call=call,
        )
    entries: list[RiskListEntry] = []
    if "fraud" in sources:
        entries = own_list_hits(query) if own_list_entries is None else list(own_list_entries)
        if "fraud" in answers:
            answer = answers["fraud"]
            merged = merge_own_lists(answer.result, entries)
            answers["fraud"] = replace(answer, result=merged, summary={
                **encode_result("fraud", merged), "external": answer.summary,
                "own_list_hits": own_list_summary(entries),
            })
    return FetchOutcome(answers=answers, failures=failures, own_list_entries=entries,
                        calls=calls if call_ids is not None else [])


def source_fetch(*, source: str, query: Query, applicant, application_id: int | None = None,
                 config: DataSourceConfig | None = None) -> SourceAnswer:
    """Answer one source for one applicant. Raises ``DataSourceTimeout`` /
    ``DataSourceError`` once every attempt failed."""
    outcome = sources_fetch(sources=[source], query=query, applicant=applicant, application_id=application_id,
                            configs={source: config} if config else None)
    if source in outcome.failures:
        raise outcome.failures[source]
    return outcome.answers[source]


def _cached_originals(*, applicant, configs, keys) -> dict[str, DataSourceCall]:
    """The newest successful call per source still inside that source's cache window, asked
    with the same provider and identifiers."""
    windows = {source: config.cache_days for source, config in configs.items() if config.cache_days}
    if not windows or applicant.pk is None:
        return {}
    now = timezone.now()
    candidates = DataSourceCall.objects.filter(
        applicant=applicant, source__in=list(windows), query_key__in=[keys[source] for source in windows],
        status=CallStatus.OK, created_at__gte=now - timedelta(days=max(windows.values())),
    ).order_by("-created_at", "-id")
    found: dict[str, DataSourceCall] = {}
    for call in candidates:
        source = call.source
        if (source not in found and call.query_key == keys[source] and call.provider == configs[source].provider
                and call.created_at >= now - timedelta(days=windows[source])):
            found[source] = call
    return found


def _ask_provider(*, source, config, query) -> tuple[dict | DataSourceError, int, int]:
    """(typed result or the last error, attempts, latency in ms): up to 1 + retries attempts,
    each bounded by the timeout the provider is given; a non-retryable error stops at once."""
    timeout_s = config.timeout_ms / 1000
    started = time.monotonic()
    attempts = 0
    outcome: dict | DataSourceError
    try:
        provider = provider_class(source, config.provider)(config)
    except DataSourceError as exc:
        return exc, 0, 0
    for _attempt in range(1 + config.retries):
        attempts += 1
        try:
            outcome = decode_result(source, provider.fetch(query, timeout_s=timeout_s))
        except DataSourceError as exc:
            outcome = exc
            if not exc.retryable:
                break
        else:
            break
    return outcome, attempts, int((time.monotonic() - started) * 1000)
