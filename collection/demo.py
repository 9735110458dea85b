"""Demo collections set-up (docs/collections.md): the product plan's default strategy — days 1–7
automated SMS reminders every 2 days, days 8–30 calls by the collections work group (human
negotiation), from day 31 a compliant outsourcing agency at 15 % commission — published, and the
agency. Idempotent: an existing strategy is left as an admin may have edited it."""

from decimal import Decimal

from creditfactory.organisations.models import WorkGroup

from .models import Agency, Bucket, CollectionStrategy, StrategyAction
from .services.strategies import strategy_publish


def seed(*, context: dict, log) -> None:
    agency, created = Agency.objects.get_or_create(code="demo-agency", defaults={
        "name": "合规委外催收示例公司 Demo collection agency", "commission_percent": Decimal("15.00")})
    if created:
        log("  collection agency demo-agency added (15 % commission)")
    if CollectionStrategy.objects.filter(product__isnull=True).exists():
        return
    group = WorkGroup.objects.filter(code="collections").first()
    if group is None:
        log("  no collections work group: the default strategy is not seeded")
        return
    strategy = CollectionStrategy.objects.create(code="DEFAULT", name="默认催收策略 Default collection strategy")
    buckets = {bucket.code: bucket for bucket in Bucket.objects.all()}
    StrategyAction.objects.create(strategy=strategy, bucket=buckets["M1"], from_dpd=1, order=1, kind="sms",
                                  template="collection_reminder", cadence_days=2)
    StrategyAction.objects.create(strategy=strategy, bucket=buckets["M1"], from_dpd=8, order=2, kind="call",
                                  work_group=group, cadence_days=1)
    StrategyAction.objects.create(strategy=strategy, bucket=buckets["M2"], from_dpd=31, order=3, kind="agency",
                                  agency=agency, cadence_days=1)
    strategy_publish(strategy=strategy, actor=context.get("admin"))
    log("  collection strategy DEFAULT published: 1–7 days SMS, 8–30 calls, from 31 days the agency")
