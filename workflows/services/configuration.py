"""Process-node configuration: defaults for a product, validation against the real flow, and the
snapshot a process takes when it starts.

What is configurable and the validation of a node row live beside the models
(``workflows.models.configuration``: ``NODE_SPECS``, ``node_config_errors``).

``node_config_ensure_defaults(product)`` is idempotent: it creates the product's flow settings
and one row per configurable node that is missing, never touching what an admin set.
``node_config_snapshot(product)`` resolves the configuration into plain JSON for
``process.data["config"]``; the flow reads only the snapshot afterwards, so an admin edit
affects new applications only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from creditfactory.organisations.models import WorkGroup
from products.models import LoanProduct

from ..fastpath import node_config_rows
from ..models import CREDIT_FLOW, ProcessNodeConfig, ProductFlowSettings
from ..models.configuration import node_specs

__all__ = ["node_config_ensure_defaults", "node_config_snapshot"]


def _default_work_group(node: str) -> WorkGroup | None:
    code = settings.WORKFLOW_DEFAULT_WORK_GROUPS.get(node)
    return WorkGroup.objects.filter(code=code, is_active=True).first() if code else None


@transaction.atomic
def node_config_ensure_defaults(product: LoanProduct, *, flow: str = CREDIT_FLOW) -> tuple[ProductFlowSettings, list]:
    """Create the product's missing flow settings and node rows with the defaults; return both."""
    flow_settings = ProductFlowSettings.objects.filter(product=product).first()
    if flow_settings is None:
        try:
            with transaction.atomic():
                flow_settings = ProductFlowSettings.objects.create(product=product)
        except IntegrityError:  # created concurrently
            flow_settings = ProductFlowSettings.objects.get(product=product)
    existing = set(ProcessNodeConfig.objects.filter(product=product, flow=flow).values_list("node", flat=True))
    missing = [
        ProcessNodeConfig(product=product, flow=flow, node=name, enabled=spec.default_enabled,
                          work_group=_default_work_group(name) if spec.uses_work_group else None,
                          sla_hours=spec.default_sla_hours)
        for name, spec in node_specs(flow).items() if name not in existing
    ]
    if missing:
        ProcessNodeConfig.objects.bulk_create(missing, ignore_conflicts=True)
    rows = list(ProcessNodeConfig.objects.filter(product=product, flow=flow).select_related("work_group"))
    return flow_settings, rows


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _stored_config(product_id: int, flow: str) -> tuple[dict | None, list[tuple]]:
    """(the flow settings' values or None, [(node, enabled, work group id, its code, assignee id,
    SLA hours)]) of a product, in one query: this runs for every process start."""
    rows = node_config_rows(product_id=product_id, flow=flow)
    if not rows or rows[0][0] is None:  # auto_approval_enabled is NOT NULL: no settings row
        flow_settings = None
    else:
        flow_settings = dict(zip(("auto_approval_enabled", "auto_approval_ceiling", "approval_threshold",
                                  "qa_sample_percent"), rows[0][:4], strict=True))
    return flow_settings, [row[4:] for row in rows if row[4] is not None]


def node_config_snapshot(product: LoanProduct, *, flow: str = CREDIT_FLOW) -> dict:
    """The resolved configuration of ``product`` as JSON, for ``process.data["config"]``. One
    query when the product's rows exist; otherwise the defaults are created first."""
    specs = node_specs(flow)
    flow_settings, rows = _stored_config(product.pk, flow)
    if flow_settings is None or not set(specs) <= {row[0] for row in rows}:
        node_config_ensure_defaults(product, flow=flow)
        flow_settings, rows = _stored_config(product.pk, flow)
    nodes = {}
    for node, enabled, work_group_id, work_group_code, assignee_id, sla_hours in rows:
        spec = specs.get(node)
        if spec is None:
            continue  # a node removed from the flow since the row was written
        nodes[node] = {
            "enabled": bool(enabled or not spec.optional),
            "work_group": work_group_id,
            "work_group_code": work_group_code if work_group_id else "",
            "assignee": assignee_id,
            "sla_hours": sla_hours,
        }
    return {
        "flow": flow,
        "product": product.code,
        "product_id": product.pk,
        "taken_at": timezone.now().isoformat(),
        "settings": {
            "auto_approval_enabled": flow_settings["auto_approval_enabled"],
            "auto_approval_ceiling": _money(flow_settings["auto_approval_ceiling"]),
            "approval_threshold": _money(flow_settings["approval_threshold"]),
            "qa_sample_percent": f"{flow_settings['qa_sample_percent']:.2f}",
        },
        "nodes": nodes,
    }
