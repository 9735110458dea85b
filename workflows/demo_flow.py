"""Demo credit-flow configuration for the four demo products (DOMAIN.md's product plan):

* EMERGENCY — straight-through approval up to 5,000; referrals reviewed; no approval step, no
  signing (instant approval of small loans);
* EDUCATION — review; approval above 50,000;
* RENOVATION and BUSINESS — review, approval of every reviewed application, remote signing.

Nodes are routed to the demo work groups (``review``, ``approval``, ``signing``).
"""

from decimal import Decimal

from creditfactory.organisations.models import WorkGroup
from products.models import LoanProduct

from .models import ProcessNodeConfig, ProductFlowSettings
from .models.configuration import CREDIT_FLOW
from .services.configuration import node_config_ensure_defaults

# code → (flow settings, {node: (enabled, work group code, SLA hours)})
DEMO_FLOWS = {
    "EMERGENCY": (
        dict(auto_approval_enabled=True, auto_approval_ceiling=Decimal("5000.00"), approval_threshold=None,
             qa_sample_percent=Decimal("5.00")),
        {"review": (True, "review", 2), "approval": (False, "approval", 4), "signing": (False, "signing", 48)},
    ),
    "EDUCATION": (
        dict(auto_approval_enabled=False, auto_approval_ceiling=Decimal("0.00"),
             approval_threshold=Decimal("50000.00"), qa_sample_percent=Decimal("0.00")),
        {"review": (True, "review", 8), "approval": (True, "approval", 8), "signing": (False, "signing", 72)},
    ),
    "RENOVATION": (
        dict(auto_approval_enabled=False, auto_approval_ceiling=Decimal("0.00"), approval_threshold=Decimal("0.00"),
             qa_sample_percent=Decimal("0.00")),
        {"review": (True, "review", 8), "approval": (True, "approval", 8), "signing": (True, "signing", 72)},
    ),
    "BUSINESS": (
        dict(auto_approval_enabled=False, auto_approval_ceiling=Decimal("0.00"), approval_threshold=Decimal("0.00"),
             qa_sample_percent=Decimal("0.00")),
        {"review": (True, "review", 24), "approval": (True, "approval", 24), "signing": (True, "signing", 72)},
    ),
}


def _apply(obj, values: dict) -> bool:
    changed = [name for name, value in values.items() if getattr(obj, name) != value]
    for name in changed:
        setattr(obj, name, values[name])
    if changed:
        obj.save()
    return bool(changed)


def seed_flows(*, log=print) -> None:
    groups = {group.code: group for group in WorkGroup.objects.filter(code__in=["review", "approval", "signing"])}
    for code, (flow_settings, nodes) in DEMO_FLOWS.items():
        product = LoanProduct.objects.filter(code=code).first()
        if product is None:
            continue
        node_config_ensure_defaults(product)
        changed = _apply(ProductFlowSettings.objects.get(product=product), flow_settings)
        for node, (enabled, group_code, sla_hours) in nodes.items():
            row = ProcessNodeConfig.objects.get(product=product, flow=CREDIT_FLOW, node=node)
            changed |= _apply(row, {"enabled": enabled, "work_group": groups.get(group_code), "sla_hours": sla_hours})
        if changed:
            log(f"  credit flow of {code} configured")


def seed(*, context: dict, log) -> None:
    seed_flows(log=log)
