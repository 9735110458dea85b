"""Demo data for funding and disbursement (issue 15 §5, §6, §8): an own-funds funder (自营), a
facilitation bank (助贷), a 30/70 co-lending pair (联合贷) of own funds and a co-lender bank,
routing rules that use all three, and the sandbox payment channel (docs/sandbox.md,
docs/configuration.md). Idempotent: existing rows are left as an admin may have edited them."""

import secrets
from decimal import Decimal

from products.models import LoanProduct
from servicing.models import CoLendingPair, CoLendingShare, Funder, PaymentChannel, RoutingRule

# code: (name, kind, priority, cost of funds %, daily quota, total quota)
DEMO_FUNDERS = {
    "own": ("自营资金 Own funds", "own", 10, "3.50", "2000000.00", "50000000.00"),
    "bank-a": ("示例银行 Facilitation Bank A", "facilitation", 20, "4.20", "5000000.00", "100000000.00"),
    "bank-co": ("联合银行 Co-lending Bank", "co_lender", 30, "3.80", "3000000.00", "80000000.00"),
}
DEMO_PAIR = ("co-30-70", "联合贷 30/70 (own funds 30 %, Co-lending Bank 70 %)", [("own", "30"), ("bank-co", "70")])
# name: (priority, products, amount_min, amount_max, target funder code or None for the pair, fallback)
DEMO_RULES = {
    "Business and renovation: co-lending 30/70": (10, ["BUSINESS", "RENOVATION"], None, None, None, False),
    "Education above 50,000: facilitation bank": (20, ["EDUCATION"], "50000.01", None, "bank-a", False),
    "Up to 50,000: own funds": (30, [], None, "50000.00", "own", False),
    "Fallback: facilitation bank": (100, [], None, None, "bank-a", True),
}


def seed(*, context: dict, log) -> None:
    funders = {}
    for code, (name, kind, priority, cost, daily, total) in DEMO_FUNDERS.items():
        funders[code], created = Funder.objects.get_or_create(code=code, defaults={
            "name": name, "kind": kind, "priority": priority, "cost_of_funds_percent": Decimal(cost),
            "daily_quota": Decimal(daily), "total_quota": Decimal(total)})
        if created:
            log(f"  funder {code} added ({kind})")
    code, name, shares = DEMO_PAIR
    pair, created = CoLendingPair.objects.get_or_create(code=code, defaults={"name": name})
    if created:
        for funder_code, percent in shares:
            CoLendingShare.objects.create(pair=pair, funder=funders[funder_code], share_percent=Decimal(percent))
        log(f"  co-lending pair {code} added")
    products = {p.code: p for p in LoanProduct.objects.all()}
    for name, (priority, codes, amount_min, amount_max, target, fallback) in DEMO_RULES.items():
        if RoutingRule.objects.filter(name=name).exists():
            continue
        rule = RoutingRule.objects.create(
            name=name, priority=priority, fallback=fallback, funder=funders[target] if target else None,
            pair=None if target else pair, amount_min=Decimal(amount_min) if amount_min else None,
            amount_max=Decimal(amount_max) if amount_max else None)
        rule.products.set([products[c] for c in codes if c in products])
        log(f"  routing rule “{name}” added")
    _channel, created = PaymentChannel.objects.get_or_create(code="sandbox", defaults={
        "name": "沙箱银行 Sandbox bank", "provider": "sandbox", "latency_ms": 200, "failure_rate_percent": Decimal("0"),
        "cost_per_transaction": Decimal("1.00"), "callback_secret": secrets.token_hex(32),
        "confirm_timeout_seconds": 60})
    if created:
        log("  payment channel sandbox added (sandbox bank, 200 ms, 1.00 CNY per transfer)")
