"""Process-node configuration: defaults for a product, validation against the real flow, and the
snapshot a process takes when it starts.

``node_config_ensure_defaults(product)`` is idempotent: it creates the product's flow settings
and one row per configurable node that is missing, never touching what an admin set.
``node_config_snapshot(product)`` resolves the configuration into plain JSON for
``process.data["config"]``; the flow reads only the snapshot afterwards, so an admin edit
affects new applications only.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from creditfactory.organisations.models import WorkGroup
from products.models import LoanProduct

from ..models import CREDIT_FLOW, ProcessNodeConfig, ProductFlowSettings

__all__ = ["WORK_ON_QUEUE", "flow_class_for", "node_config_ensure_defaults", "node_config_errors",
           "node_config_snapshot", "node_specs"]

WORK_ON_QUEUE = "organisations.work_on_queue"


def flow_class_for(flow_label: str):
    from ..flows import FLOWS

    return FLOWS.get(flow_label)


def node_specs(flow_label: str = CREDIT_FLOW) -> dict:
    from ..flows import NODE_SPECS

    return NODE_SPECS.get(flow_label, {})


def node_config_errors(config: ProcessNodeConfig) -> dict[str, list[str]]:
    """Why ``config`` is not a valid node configuration, as {field: [messages]} (empty if valid)."""
    errors: dict[str, list[str]] = {}
    flow_class = flow_class_for(config.flow)
    if flow_class is None:
        return {"flow": [_("Unknown flow %(flow)s.") % {"flow": config.flow}]}
    if flow_class.instance.node(config.node, no_obsolete=True) is None:
        return {"node": [_("%(flow)s has no node named %(node)s.")
                         % {"flow": flow_class.process_title, "node": config.node}]}
    spec = node_specs(config.flow).get(config.node)
    if spec is None:
        return {"node": [_("Node %(node)s cannot be configured.") % {"node": config.node}]}
    if not spec.optional and not config.enabled:
        errors["enabled"] = [_("%(node)s is a mandatory node and cannot be disabled.") % {"node": spec.title}]
    if spec.kind == "human" and config.enabled and not config.work_group_id:
        errors["work_group"] = [_("Choose the work group whose queue receives %(node)s tasks.")
                                % {"node": spec.title}]
    if config.assignee_id:
        if spec.kind != "human":
            errors["assignee"] = [_("Only human tasks can have a fixed assignee.")]
        elif config.work_group_id and not config.assignee.has_perm(WORK_ON_QUEUE, config.work_group):
            errors["assignee"] = [_("%(user)s does not work on the queue of %(group)s.")
                                  % {"user": config.assignee, "group": config.work_group}]
    if config.work_group_id and not spec.uses_work_group:
        errors["work_group"] = [_("%(node)s is done by the applicant: it has no work group.") % {"node": spec.title}]
    return errors


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
    quote = connection.ops.quote_name
    sql = (
        "SELECT s.auto_approval_enabled, s.auto_approval_ceiling, s.approval_threshold, s.qa_sample_percent, "
        "n.node, n.enabled, n.work_group_id, g.code, n.assignee_id, n.sla_hours "
        f"FROM {quote(LoanProduct._meta.db_table)} p "
        f"LEFT JOIN {quote(ProductFlowSettings._meta.db_table)} s ON s.product_id = p.id "
        f"LEFT JOIN {quote(ProcessNodeConfig._meta.db_table)} n ON n.product_id = p.id AND n.flow = %s "
        f"LEFT JOIN {quote(WorkGroup._meta.db_table)} g ON g.id = n.work_group_id "
        "WHERE p.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [flow, product_id])
        rows = cursor.fetchall()
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
