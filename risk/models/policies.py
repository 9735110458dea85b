"""Risk models: the risk policy of a product — which rule sets, scorecard and strategies decide
its applications, and an optional challenger evaluated in shadow (champion/challenger)."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from creditfactory.core.models import TimeStampedModel
from products.models import LoanProduct

from .rules import RuleSet
from .scoring import LimitStrategy, PricingStrategy, Scorecard

__all__ = ["RiskPolicy"]


class RiskPolicy(TimeStampedModel):
    """Points at working copies; a decision runs on their *current published versions* and
    records which ones, so the policy can be re-pointed without losing any explanation.

    The challenger replaces the champion's rule sets of each stage it has rule sets for (other
    stages run the champion's) and/or its scorecard; limit and pricing are the champion's, so the
    comparison isolates what the challenger changes."""

    product = models.OneToOneField(LoanProduct, verbose_name=_("product"), on_delete=models.PROTECT,
                                   related_name="risk_policy")
    active = models.BooleanField(_("active"), default=True)
    rule_sets = models.ManyToManyField(RuleSet, verbose_name=_("rule sets"), related_name="policies", blank=True,
                                       help_text=_("Admission, direct-reject and anti-fraud rule sets run on every "
                                                   "application; warning and monitoring sets serve later stages."))
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.PROTECT,
                                  related_name="policies")
    limit_strategy = models.ForeignKey(LimitStrategy, verbose_name=_("limit strategy"), on_delete=models.PROTECT,
                                       related_name="policies")
    pricing_strategy = models.ForeignKey(PricingStrategy, verbose_name=_("pricing strategy"),
                                         on_delete=models.PROTECT, related_name="policies")
    challenger_rule_sets = models.ManyToManyField(RuleSet, verbose_name=_("challenger rule sets"), blank=True,
                                                  related_name="challenger_policies")
    challenger_scorecard = models.ForeignKey(Scorecard, verbose_name=_("challenger scorecard"), null=True,
                                             blank=True, on_delete=models.PROTECT, related_name="challenger_policies")
    notes = models.TextField(_("notes"), blank=True)
    history = HistoricalRecords(excluded_fields=["updated_at"], m2m_fields=[rule_sets, challenger_rule_sets])

    class Meta:
        verbose_name = _("risk policy")
        verbose_name_plural = _("risk policies")
        ordering = ["product__code"]

    def __str__(self):
        return str(_("Risk policy of %(product)s") % {"product": self.product.code})

    def clean(self):
        if self.challenger_scorecard_id and self.challenger_scorecard_id == self.scorecard_id:
            raise ValidationError({"challenger_scorecard": _("The challenger must differ from the champion.")})

    @property
    def has_challenger(self) -> bool:
        return bool(self.challenger_scorecard_id) or self.challenger_rule_sets.exists()
