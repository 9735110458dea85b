"""Risk models: the credit decision (授信决策) — outcome, limit, rate, grade, every reason, each
rule's result, the score breakdown, the feature snapshot and the versions it ran on — enough to
explain it to a reviewer and to replay it exactly. Risk policies live in ``policies`` and are
re-exported here so the package ``__init__`` registers them."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField, PercentField
from products.models import ProductVersion

from .policies import *  # noqa: F401,F403 - registered through this module
from .policies import RiskPolicy
from .rules import RuleSetVersion
from .scoring import LimitStrategyVersion, PricingStrategyVersion, ScorecardVersion

__all__ = ["Decision", "DecisionOutcome", "DecisionStatus", "RiskPolicy"]


def pick_language(messages: dict, language: str) -> str:
    """The text in ``language``, else in its base language (zh for zh-hans), the default, any."""
    if language in messages:
        return messages[language]
    base = language.split("-")[0]
    for code, text in messages.items():
        if code.split("-")[0] == base:
            return text
    return messages.get(settings.LANGUAGE_CODE) or next(iter(messages.values()), "")


class DecisionOutcome(models.TextChoices):
    APPROVE = "approve", _("Approve")
    REFER = "refer", _("Refer to manual review")
    REJECT = "reject", _("Reject")


class DecisionStatus(models.TextChoices):
    CURRENT = "current", _("Current")
    SUPERSEDED = "superseded", _("Superseded by a re-assessment")


class Decision(models.Model):
    """One assessment of one application. An application has one current decision; a forced
    re-assessment supersedes it (kept, with who and why) instead of overwriting it."""

    # The credit flow's application, by reference: risk does not import the flow's app.
    application = models.ForeignKey("workflows.CreditApplication", verbose_name=_("application"),
                                    on_delete=models.PROTECT, related_name="risk_decisions")
    sequence = models.PositiveSmallIntegerField(_("assessment number"), default=1)
    status = models.CharField(_("status"), max_length=12, choices=DecisionStatus.choices,
                              default=DecisionStatus.CURRENT)
    superseded_by = models.OneToOneField("self", verbose_name=_("superseded by"), null=True, blank=True,
                                         on_delete=models.PROTECT, related_name="supersedes")
    policy = models.ForeignKey(RiskPolicy, verbose_name=_("risk policy"), on_delete=models.PROTECT,
                               related_name="decisions")
    product_version = models.ForeignKey(ProductVersion, verbose_name=_("product version"), on_delete=models.PROTECT,
                                        related_name="+")

    outcome = models.CharField(_("outcome"), max_length=8, choices=DecisionOutcome.choices, db_index=True)
    grade = models.CharField(_("grade"), max_length=1, blank=True)
    score = models.IntegerField(_("score"), null=True, blank=True)
    limit = MoneyField(_("limit"), null=True, blank=True)
    rate_percent = PercentField(_("rate (%)"), null=True, blank=True)
    rate_basis = models.CharField(_("rate quoted as"), max_length=8, blank=True)
    apr_percent = PercentField(_("APR (%)"), null=True, blank=True)

    reasons = models.JSONField(_("reasons"), default=list)
    rule_results = models.JSONField(_("rule results"), default=list)
    score_breakdown = models.JSONField(_("score breakdown"), default=list)
    steps = models.JSONField(_("steps"), default=list)
    details = models.JSONField(_("limit and pricing details"), default=dict)
    snapshot = models.JSONField(_("feature snapshot"), default=dict,
                                help_text=_("Features, what each data source answered (masked) and the data cost."))
    unavailable_sources = models.JSONField(_("unavailable data sources"), default=list)
    request = models.JSONField(_("loan request"), default=dict,
                               help_text=_("Amount, term, method and start date the decision was made for."))
    as_of = models.DateField(_("decision date"))

    versions = models.JSONField(_("versions used"), default=dict)
    rule_set_versions = models.ManyToManyField(RuleSetVersion, verbose_name=_("rule set versions"), blank=True,
                                               related_name="decisions")
    scorecard_version = models.ForeignKey(ScorecardVersion, verbose_name=_("scorecard version"),
                                          on_delete=models.PROTECT, related_name="decisions")
    limit_strategy_version = models.ForeignKey(LimitStrategyVersion, verbose_name=_("limit strategy version"),
                                               on_delete=models.PROTECT, related_name="decisions")
    pricing_strategy_version = models.ForeignKey(PricingStrategyVersion, verbose_name=_("pricing strategy version"),
                                                 on_delete=models.PROTECT, related_name="decisions")

    shadow = models.JSONField(_("challenger (shadow) result"), null=True, blank=True)
    shadow_outcome = models.CharField(_("challenger outcome"), max_length=8, choices=DecisionOutcome.choices,
                                      blank=True)
    shadow_grade = models.CharField(_("challenger grade"), max_length=1, blank=True)

    data_cost = MoneyField(_("data cost"), default=0)
    tolerated_failures = models.BooleanField(
        _("decided with sources down"), default=False,
        help_text=_("Retries were exhausted; unavailable sources made the decision refer."),
    )
    created_at = models.DateTimeField(_("decided at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(_("actor label"), max_length=150, blank=True)
    note = models.TextField(_("re-assessment reason"), blank=True)

    class Meta:
        verbose_name = _("risk decision")
        verbose_name_plural = _("risk decisions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "sequence"], name="risk_decision_unique_sequence"),
            models.UniqueConstraint(fields=["application"], condition=models.Q(status="current"),
                                    name="risk_decision_one_current"),
        ]
        indexes = [models.Index(fields=["policy", "created_at"])]

    def __str__(self):
        return f"{self.application.number} #{self.sequence}: {self.get_outcome_display()}"

    def customer_reasons(self, language: str) -> list[str]:
        """What the customer is told: the customer-facing texts of the reasons that decided the
        outcome (reject reasons of a reject, refer reasons of a referral), without repeats."""
        texts: list[str] = []
        if self.outcome == DecisionOutcome.APPROVE:
            return texts
        for reason in self.reasons:
            if reason.get("outcome") != self.outcome:
                continue
            messages = reason.get("customer_reason") or {}
            text = pick_language(messages, language)
            if text and text not in texts:
                texts.append(text)
        return texts
