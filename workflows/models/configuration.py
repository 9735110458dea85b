"""Process-node configuration (信贷流程定义 / 流程节点 / 产品流程设置) and task deadlines.

``ProcessNodeConfig``: per product and node of a flow — enabled (optional nodes only), the work
group whose queue receives the node's tasks, an optional fixed assignee and the SLA in hours.
``ProductFlowSettings``: per product — straight-through (auto) approval and its ceiling, the
amount above which a reviewed application also needs an approver, and the share of
straight-through approvals sampled for quality inspection.

Both are the *working* configuration. A process copies the resolved configuration into
``process.data`` when it starts (``workflows.services.configuration.node_config_snapshot``), so
an admin edit affects new applications only.

Which nodes are configurable, and how, is ``NODE_SPECS`` (per flow label); a node row is validated
against it and against the flow's real nodes (``node_config_errors``, run by ``clean``). The flow
of a label is named by viewflow's string reference (``FLOW_REFS``), as a process row names its
flow: the flows module builds on these models, so it is resolved when a row is validated.

``TaskSla`` is the deadline of one task of a configured node, and the record of its escalation.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from viewflow.workflow.fields import import_flow_by_ref

from creditfactory.core.display import format_datetime, label
from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from creditfactory.organisations.models import WorkGroup
from products.models import LoanProduct

# The package exports the models and constants; the functions are imported from this module.
__all__ = ["CREDIT_FLOW", "DRAWDOWN_FLOW", "FLOW_CHOICES", "FLOW_REFS", "LINE_CHANGE_FLOW", "NODE_SPECS", "NodeSpec", "ProcessNodeConfig",
           "ProductFlowSettings", "TaskSla", "WORK_ON_QUEUE"]

# The flow label of ``workflows.flows.CreditApplicationFlow`` (viewflow's ``flow_label``).
CREDIT_FLOW = "creditapplication"
# The flow label of ``workflows.drawdown_flows.DrawdownFlow``.
DRAWDOWN_FLOW = "drawdown"
# The flow label of ``workflows.line_flows.CreditLineChangeFlow``.
LINE_CHANGE_FLOW = "creditlinechange"
FLOW_CHOICES = [(CREDIT_FLOW, _("Credit application (授信申请)")), (DRAWDOWN_FLOW, _("Drawdown (借款)")),
                (LINE_CHANGE_FLOW, _("Credit line change (额度变更)"))]
# Each configurable flow by viewflow's string reference (``get_flow_ref``): what a process row stores.
FLOW_REFS = {CREDIT_FLOW: "workflows/flows.CreditApplicationFlow",
             DRAWDOWN_FLOW: "workflows/drawdown_flows.DrawdownFlow",
             LINE_CHANGE_FLOW: "workflows/line_flows.CreditLineChangeFlow"}
# The permission a human task of a configured node asks for, on the node's work group.
WORK_ON_QUEUE = "organisations.work_on_queue"


@dataclass(frozen=True)
class NodeSpec:
    """A node an admin configures per product (流程节点)."""

    title: str
    kind: str  # "human": a task in a work group's queue; "wait": waits for a service call
    optional: bool
    default_enabled: bool = True
    default_sla_hours: int | None = None
    uses_work_group: bool = True


NODE_SPECS = {
    CREDIT_FLOW: {
        "review": NodeSpec(_("Manual review (审查)"), "human", optional=False, default_sla_hours=8),
        "approval": NodeSpec(_("Approval (审批)"), "human", optional=True, default_sla_hours=8),
        "signing": NodeSpec(_("Remote signing (远程面签)"), "wait", optional=True, default_enabled=False,
                            default_sla_hours=72),
        "contract": NodeSpec(_("Contract acceptance"), "wait", optional=False, default_sla_hours=None,
                             uses_work_group=False),
    },
    DRAWDOWN_FLOW: {
        # The queue of the disbursement review (放款审核). A drawdown is reviewed when the product's
        # amount threshold or purposes require it; enabled, every drawdown of the product is.
        "review": NodeSpec(_("Disbursement review (放款审核)"), "human", optional=True, default_enabled=False,
                           default_sla_hours=4),
    },
    LINE_CHANGE_FLOW: {
        # Off: every change of the product's lines is applied directly when requested.
        "approval": NodeSpec(_("Line change approval (额度变更审批)"), "human", optional=True, default_sla_hours=8),
    },
}


def flow_class_for(flow_label: str):
    """The flow class of ``flow_label``, or None for a label no flow has."""
    ref = FLOW_REFS.get(flow_label)
    return import_flow_by_ref(ref) if ref else None


def node_specs(flow_label: str = CREDIT_FLOW) -> dict:
    return NODE_SPECS.get(flow_label, {})


def node_config_errors(config: "ProcessNodeConfig") -> dict[str, list[str]]:
    """Why ``config`` is not a valid node configuration, as {field: [messages]} (empty if valid)."""
    errors: dict[str, list[str]] = {}
    flow_class = flow_class_for(config.flow)
    if flow_class is None:
        return {"flow": [gettext("Unknown flow %(flow)s.") % {"flow": config.flow}]}
    if flow_class.instance.node(config.node, no_obsolete=True) is None:
        return {"node": [gettext("%(flow)s has no node named %(node)s.")
                         % {"flow": flow_class.process_title, "node": config.node}]}
    spec = node_specs(config.flow).get(config.node)
    if spec is None:
        return {"node": [gettext("Node %(node)s cannot be configured.") % {"node": config.node}]}
    if not spec.optional and not config.enabled:
        errors["enabled"] = [gettext("%(node)s is a mandatory node and cannot be disabled.") % {"node": spec.title}]
    if spec.kind == "human" and config.enabled and not config.work_group_id:
        errors["work_group"] = [gettext("Choose the work group whose queue receives %(node)s tasks.")
                                % {"node": spec.title}]
    if config.assignee_id:
        if spec.kind != "human":
            errors["assignee"] = [gettext("Only human tasks can have a fixed assignee.")]
        elif config.work_group_id and not config.assignee.has_perm(WORK_ON_QUEUE, config.work_group):
            errors["assignee"] = [gettext("%(user)s does not work on the queue of %(group)s.")
                                  % {"user": config.assignee, "group": config.work_group}]
    if config.work_group_id and not spec.uses_work_group:
        errors["work_group"] = [gettext("%(node)s is done by the applicant: it has no work group.")
                                % {"node": spec.title}]
    return errors


class ProductFlowSettings(TimeStampedModel):
    """产品流程设置: how a product's applications move through the credit flow."""

    product = models.OneToOneField(LoanProduct, verbose_name=_("product"), on_delete=models.CASCADE,
                                   related_name="flow_settings")
    auto_approval_enabled = models.BooleanField(
        _("straight-through approval"), default=False,
        help_text=_("An automated 'approve' decision approves without a reviewer, up to the ceiling below."),
    )
    auto_approval_ceiling = MoneyField(
        _("straight-through ceiling"), default=Decimal("0.00"), validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Largest amount approved straight through; larger amounts go to review."),
    )
    approval_threshold = MoneyField(
        _("approval threshold"), null=True, blank=True, validators=[MinValueValidator(Decimal("0"))],
        help_text=_("After review, amounts above this also need an approver (审批). Empty: every reviewed "
                    "application does. The reviewer may always ask for approval."),
    )
    qa_sample_percent = models.DecimalField(
        _("QA sample (%)"), max_digits=5, decimal_places=2, default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text=_("Share of straight-through approvals sampled daily for quality inspection (抽样质检)."),
    )
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("product flow settings")
        verbose_name_plural = _("product flow settings")

    def __str__(self):
        return str(self.product)

    def clean(self):
        if self.auto_approval_enabled and not self.auto_approval_ceiling:
            raise ValidationError({"auto_approval_ceiling": _("Give the largest amount approved straight through.")})


class ProcessNodeConfig(TimeStampedModel):
    """流程节点: one configurable node of a flow for one product."""

    product = models.ForeignKey(LoanProduct, verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="flow_nodes")
    flow = models.CharField(_("flow"), max_length=64, choices=FLOW_CHOICES, default=CREDIT_FLOW)
    node = models.CharField(_("node"), max_length=64)
    enabled = models.BooleanField(_("enabled"), default=True,
                                  help_text=_("Only optional nodes can be switched off."))
    work_group = models.ForeignKey(
        WorkGroup, verbose_name=_("work group"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="node_configs", help_text=_("Whose queue receives this node's tasks (工作组业务节点)."),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("fixed assignee"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("Optional: every task goes straight to this person's inbox."),
    )
    sla_hours = models.PositiveIntegerField(
        _("SLA (hours)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(24 * 90)],
        help_text=_("A task still open after this long is flagged and escalated to the work group's lead."),
    )
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("process node")
        verbose_name_plural = _("process nodes")
        ordering = ["product__code", "flow", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "flow", "node"], name="workflows_node_config_unique"),
        ]

    def __str__(self):
        return f"{self.product.name} · {label('node', self.node)}"

    def clean(self):
        errors = node_config_errors(self)
        if errors:
            raise ValidationError(errors)


class TaskSla(models.Model):
    """The deadline of one open task of a configured node; escalated once when it passes. Its
    subject is the application (credit flow), the drawdown (disbursement review) or the credit
    line change (approval) the task is about; ``branch`` is the subject's, for scoping."""

    task = models.OneToOneField("viewflow.Task", verbose_name=_("task"), on_delete=models.CASCADE,
                                related_name="sla")
    application = models.ForeignKey("workflows.CreditApplication", verbose_name=_("application"), null=True,
                                    blank=True, on_delete=models.CASCADE, related_name="task_slas")
    drawdown = models.ForeignKey("servicing.Drawdown", verbose_name=_("drawdown"), null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="task_slas")
    line_change = models.ForeignKey("servicing.CreditLineChange", verbose_name=_("credit line change"), null=True,
                                    blank=True, on_delete=models.CASCADE, related_name="task_slas")
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    node = models.CharField(_("node"), max_length=64)
    work_group = models.ForeignKey(WorkGroup, verbose_name=_("work group"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    sla_hours = models.PositiveIntegerField(_("SLA (hours)"))
    due_at = models.DateTimeField(_("due at"), db_index=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalated_to = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("escalated to"), null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("task deadline")
        verbose_name_plural = _("task deadlines")
        ordering = ["due_at"]
        indexes = [models.Index(fields=["escalated_at", "due_at"])]
        constraints = [models.CheckConstraint(
            condition=(models.Q(application__isnull=False, drawdown__isnull=True, line_change__isnull=True)
                       | models.Q(application__isnull=True, drawdown__isnull=False, line_change__isnull=True)
                       | models.Q(application__isnull=True, drawdown__isnull=True, line_change__isnull=False)),
            name="workflows_tasksla_one_subject")]

    @property
    def subject(self):
        """The application, drawdown or credit line change the task is about."""
        return self.application or self.drawdown or self.line_change

    @property
    def subject_number(self) -> str:
        subject = self.subject
        return getattr(subject, "number", "") or str(subject)

    def __str__(self):
        return f"{self.subject_number} · {label('node', self.node)} · {format_datetime(self.due_at)}"
