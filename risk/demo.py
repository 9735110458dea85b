"""Demo data of the risk app: a sandbox configuration for every data source, with realistic
latencies and prices, and a few entries on our own lists (values listed in docs/sandbox.md).
Idempotent: existing rows are left as an admin may have edited them."""

from datetime import date
from decimal import Decimal

from creditfactory.core.pii import blind_index
from risk.models import DataSourceConfig, RiskListEntry, Source
from risk.services.lists import risk_list_entry_add
from risk.validators import build_resident_id

# source: (latency ms, cost per call CNY, cache days)
DEMO_SOURCES = {
    Source.BUREAU: (300, Decimal("2.00"), 30),
    Source.MULTI_LENDING: (150, Decimal("0.50"), 30),
    Source.FRAUD: (80, Decimal("0.30"), 30),
    Source.COURT: (200, Decimal("0.80"), 30),
    Source.SCENARIO: (20, Decimal("0.00"), 30),
}

DEMO_LIST_ENTRIES = (
    ("fraud", "id_number", build_resident_id(region="310101", birth_date=date(1985, 6, 15), sequence="123"),
     "Forged documents (demo)"),
    ("fraud", "mobile", "13912345678", "Account takeover reports (demo)"),
    ("risk", "mobile", "13712345670", "Collections complaint (demo)"),
    ("fraud", "device", "DEMO-DEVICE-BLOCKED-01", "Device farm (demo)"),
)


def seed(*, context: dict, log) -> None:
    for source, (latency_ms, cost, cache_days) in DEMO_SOURCES.items():
        _config, created = DataSourceConfig.objects.get_or_create(
            source=source,
            defaults={"provider": "sandbox", "timeout_ms": 3000, "retries": 2, "cache_days": cache_days,
                      "cost_per_call": cost, "sandbox_latency_ms": latency_ms},
        )
        if created:
            log(f"  data source {source} configured (sandbox, {latency_ms} ms, {cost} CNY)")
    for list_type, kind, value, reason in DEMO_LIST_ENTRIES:
        if not RiskListEntry.objects.filter(list_type=list_type, kind=kind, value_index=blind_index(kind, value)).exists():
            risk_list_entry_add(actor=context.get("admin"), list_type=list_type, kind=kind, value=value, reason=reason,
                                source="demo")
            log(f"  {list_type} list: {kind} entry added")
