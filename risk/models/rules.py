"""Risk models: rule sets by stage (准入 / 直拒 / 反欺诈 / 贷中预警 / 贷后监控), their rules, and
the immutable published versions decisions run on."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from risk.rules import (
    IN_LOAN_FEATURES,
    IN_LOAN_STAGES,
    ORIGINATION_STAGES,
    ExpressionError,
    RuleOutcome,
    Stage,
    WarningAction,
    validate_expression,
)

from .versioning import PublishedVersion, WorkingCopy

__all__ = ["Rule", "RuleOutcome", "RuleSet", "RuleSetVersion", "Stage", "WarningAction"]

# Outcomes that make sense per stage: origination rules decide, monitoring rules raise warnings.
STAGE_OUTCOMES = {
    **{stage: {RuleOutcome.REJECT, RuleOutcome.REFER, RuleOutcome.FLAG} for stage in ORIGINATION_STAGES},
    # The drawdown check decides the drawdown; ``freeze`` also freezes the line.
    Stage.IN_LOAN_DRAWDOWN: {RuleOutcome.REJECT, RuleOutcome.REFER, RuleOutcome.FREEZE, RuleOutcome.FLAG},
    Stage.IN_LOAN_WARNING: {RuleOutcome.WARN, RuleOutcome.FLAG},
    Stage.POST_LOAN_MONITORING: {RuleOutcome.WARN, RuleOutcome.FLAG},
}


class RuleSet(WorkingCopy):
    """The working copy of a rule set. Decisions use its ``current_version``, so edits take
    effect when the rule set is published (after the admin tested them)."""

    stage = models.CharField(_("stage"), max_length=24, choices=Stage.choices)
    current_version = models.ForeignKey(
        "RuleSetVersion", verbose_name=_("current version"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False,
    )

    class Meta(WorkingCopy.Meta):
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        permissions = [("publish_ruleset", _("Can publish rule sets"))]

    def definition(self) -> dict:
        rules = sorted((rule for rule in self.rules.all() if rule.active), key=lambda rule: (rule.priority, rule.code))
        return {"code": self.code, "name": self.name, "stage": self.stage,
                "rules": [rule.spec_json() for rule in rules]}


class Rule(models.Model):
    rule_set = models.ForeignKey(RuleSet, verbose_name=_("rule set"), on_delete=models.CASCADE, related_name="rules")
    code = models.SlugField(_("code"), max_length=40, help_text=_("Unique within the rule set, e.g. AGE_RANGE."))
    description = models.CharField(_("description (internal)"), max_length=255, blank=True,
                                   help_text=_("For staff: what the rule checks and why."))
    expression = models.TextField(
        _("expression"),
        help_text=_("A condition over catalogue features that fires the rule when true, e.g. "
                    "“bureau.overdue_count > 0 and bureau.max_dpd_24m > 90”. Operators: and, or, not, == != < <= > >=, "
                    "in [..], + - * /."),
    )
    outcome = models.CharField(_("outcome"), max_length=8, choices=RuleOutcome.choices)
    reason_code = models.CharField(_("reason code"), max_length=40,
                                   help_text=_("Stable code reported with the decision, e.g. AGE_OUT_OF_RANGE."))
    # Two fields rather than gettext: rule texts are data edited in admin, not messages in the .po files;
    # one per shipped language (zh-hans, en), frozen into the published version with the rule.
    customer_reason_zh = models.CharField(_("customer-facing reason (Chinese)"), max_length=255, blank=True)
    customer_reason_en = models.CharField(_("customer-facing reason (English)"), max_length=255, blank=True)
    priority = models.PositiveIntegerField(_("priority"), default=100, help_text=_("Lower runs first."))
    warning_action = models.CharField(
        _("warning handling"), max_length=16, choices=WarningAction.choices, blank=True,
        help_text=_("In-loan warning rules only: what a hit does to the borrower's line — notify, stop pending "
                    "drawdowns, freeze the line or reduce the limit. Blank: notify."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["rule_set", "priority", "code"]
        constraints = [models.UniqueConstraint(fields=["rule_set", "code"], name="risk_rule_unique_code")]

    def __str__(self):
        return self.code

    def clean(self):
        errors = {}
        try:
            stage = self.rule_set.stage
        except RuleSet.DoesNotExist:
            stage = None
        try:
            features = validate_expression(self.expression)
        except ExpressionError as exc:
            errors["expression"] = [exc.message]
        else:
            outside = [name for name in features if name not in IN_LOAN_FEATURES]
            if stage in IN_LOAN_STAGES and outside:
                errors["expression"] = [
                    _("In-loan checks refresh only multi-lending, list and court data: “%(feature)s” is not "
                      "available there.") % {"feature": outside[0]}
                ]
        if self.warning_action and stage and stage not in (Stage.IN_LOAN_WARNING, Stage.POST_LOAN_MONITORING):
            errors["warning_action"] = [_("Only in-loan warning and post-loan monitoring rules have a warning "
                                          "handling.")]
        if stage and self.outcome and self.outcome not in STAGE_OUTCOMES.get(stage, ()):
            allowed = ", ".join(str(RuleOutcome(o).label) for o in sorted(STAGE_OUTCOMES[stage]))
            errors["outcome"] = [_("A %(stage)s rule can only have these outcomes: %(allowed)s.")
                                 % {"stage": Stage(stage).label, "allowed": allowed}]
        if self.outcome in (RuleOutcome.REJECT, RuleOutcome.REFER, RuleOutcome.FREEZE) and not (
            self.customer_reason_zh.strip() or self.customer_reason_en.strip()
        ):
            errors["customer_reason_zh"] = [_("A rule that rejects or refers needs a customer-facing reason.")]
        if errors:
            raise ValidationError(errors)

    def spec_json(self) -> dict:
        reasons = {"zh-hans": self.customer_reason_zh.strip(), "en": self.customer_reason_en.strip()}
        spec = {"code": self.code, "expression": self.expression.strip(), "outcome": self.outcome,
                "reason_code": self.reason_code, "description": self.description, "priority": self.priority,
                "customer_reason": {language: text for language, text in reasons.items() if text}}
        # Only when set, so rule sets published before the field existed keep their definition.
        if self.warning_action:
            spec["warning_action"] = self.warning_action
        return spec


class RuleSetVersion(PublishedVersion):
    rule_set = models.ForeignKey(RuleSet, verbose_name=_("rule set"), on_delete=models.PROTECT,
                                 related_name="versions")

    parent_field = "rule_set"

    class Meta:
        verbose_name = _("rule set version")
        verbose_name_plural = _("rule set versions")
        ordering = ["rule_set__code", "-version"]
        constraints = [models.UniqueConstraint(fields=["rule_set", "version"], name="risk_ruleset_unique_version")]
