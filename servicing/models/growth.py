"""Credit growth (额度动态调整 / 信用成长): the per-product review policy and each line's reviews.

``CreditGrowthPolicy`` (admin, one per product): how often a line is reviewed (``cadence_months``,
default quarterly), over which window its repayment history is read (``window_months``, default
the cadence), what an on-time history earns (limit + ``increase_percent`` %, rate −
``rate_step_points`` points, within the product's ``amount_max`` and ``rate_min_percent``) and what
a late one costs (``late_action``: lower the limit by ``decrease_percent`` %, or freeze the line).
``CreditLineReview``: one row per line and review date — the finding, the figures, and the
``CreditLineChange`` it requested (through the line-change flow), if any. See docs/servicing.md.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import PercentField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.texts import TranslatedTextField

__all__ = ["CreditGrowthPolicy", "CreditLineReview", "LateAction", "ReviewFinding"]


class LateAction(models.TextChoices):
    DECREASE = "decrease", _("Lower the limit")
    FREEZE = "freeze", _("Freeze the line")


class CreditGrowthPolicy(TimeStampedModel):
    product = models.OneToOneField("products.LoanProduct", verbose_name=_("product"), on_delete=models.CASCADE,
                                   related_name="credit_growth_policy")
    enabled = models.BooleanField(_("enabled"), default=True)
    cadence_months = models.PositiveSmallIntegerField(
        _("review every (months)"), default=3, help_text=_("A line is reviewed this many months after its last "
                                                            "review (or after it was granted); 3 = quarterly."))
    window_months = models.PositiveSmallIntegerField(
        _("history window (months)"), null=True, blank=True,
        help_text=_("The repayment history read at a review; empty: the cadence."))
    increase_percent = PercentField(_("limit increase (%)"), default=Decimal("10"),
                                    help_text=_("On-time history: the limit is raised by this share, up to the "
                                                "product's maximum amount."))
    rate_step_points = PercentField(_("rate reduction (points)"), default=Decimal("0.5"),
                                    help_text=_("On-time history: the rate is lowered by this many percentage "
                                                "points (in the line's basis), down to the product's minimum rate."))
    late_action = models.CharField(_("late history"), max_length=8, choices=LateAction.choices,
                                   default=LateAction.DECREASE)
    decrease_percent = PercentField(_("limit decrease (%)"), default=Decimal("20"),
                                    help_text=_("Late history with “lower the limit”: the limit is lowered by this "
                                                "share, not below what is drawn and held; when it cannot be "
                                                "lowered the line is frozen."))

    class Meta:
        verbose_name = _("credit growth policy")
        verbose_name_plural = _("credit growth policies")
        ordering = ["product__code"]
        constraints = [
            models.CheckConstraint(condition=Q(cadence_months__gte=1), name="servicing_growth_cadence_positive"),
            models.CheckConstraint(condition=Q(increase_percent__gte=0) & Q(rate_step_points__gte=0)
                                   & Q(decrease_percent__gte=0) & Q(decrease_percent__lt=100),
                                   name="servicing_growth_steps_valid"),
        ]

    def __str__(self):
        return str(self.product)

    @property
    def window(self) -> int:
        return self.window_months or self.cadence_months


class ReviewFinding(models.TextChoices):
    ON_TIME = "on_time", _("On-time history")
    LATE = "late", _("Late history")
    NO_HISTORY = "no_history", _("No installment due in the window")


class CreditLineReview(TimeStampedModel):
    credit_line = models.ForeignKey("servicing.CreditLine", verbose_name=_("credit line"), on_delete=models.CASCADE,
                                    related_name="growth_reviews")
    business_date = models.DateField(_("business date"))
    window_start = models.DateField(_("window from"))
    finding = models.CharField(_("finding"), max_length=12, choices=ReviewFinding.choices)
    installments_due = models.PositiveIntegerField(_("installments due in the window"), default=0)
    installments_late = models.PositiveIntegerField(_("installments overdue in the window"), default=0)
    max_days_past_due = models.PositiveIntegerField(_("days past due now"), default=0)
    change = models.OneToOneField("servicing.CreditLineChange", verbose_name=_("change"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="growth_review")
    note = TranslatedTextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("credit line review")
        verbose_name_plural = _("credit line reviews")
        ordering = ["-business_date", "-id"]
        constraints = [models.UniqueConstraint(fields=["credit_line", "business_date"],
                                               name="servicing_line_review_once_a_day")]
        indexes = [models.Index(fields=["credit_line", "-business_date"], name="servicing_line_review_latest")]

    def __str__(self):
        return f"{self.credit_line} {self.business_date:%Y-%m-%d}"
