"""Risk models: limit strategies (额度授信策略) and pricing strategies (风险定价), with their
published versions. How they compute is in ``risk.strategies``."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField, PercentField
from risk.scoring import GRADES

from .versioning import PublishedVersion, WorkingCopy

__all__ = ["AprBreach", "BelowMinimum", "LimitBandRow", "LimitStrategy", "LimitStrategyVersion", "PricingGradeRow",
           "PricingStrategy", "PricingStrategyVersion"]

GRADE_CHOICES = [(grade, grade) for grade in GRADES]


def _plain(value) -> str:
    return f"{Decimal(value).normalize():f}"


class BelowMinimum(models.TextChoices):
    REJECT = "reject", _("Reject")
    REFER = "refer", _("Refer to manual review")


class AprBreach(models.TextChoices):
    CLAMP = "clamp", _("Lower the rate until the APR is under the cap")
    REFER = "refer", _("Refer to manual review")


class LimitStrategy(WorkingCopy):
    step = MoneyField(_("rounding step"), default=Decimal("100.00"),
                      help_text=_("Limits are rounded down to a multiple of this amount."))
    dti_ceiling_percent = PercentField(
        _("debt-to-income ceiling (%)"), null=True, blank=True, default=Decimal("55"),
        help_text=_("Existing monthly debt payments plus the new loan's may not exceed this share of monthly income. "
                    "Blank: no ceiling."),
    )
    below_minimum_outcome = models.CharField(
        _("when the limit is below the product minimum"), max_length=8, choices=BelowMinimum.choices,
        default=BelowMinimum.REJECT,
    )
    current_version = models.ForeignKey(
        "LimitStrategyVersion", verbose_name=_("current version"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False,
    )

    class Meta(WorkingCopy.Meta):
        verbose_name = _("limit strategy")
        verbose_name_plural = _("limit strategies")
        permissions = [("publish_limitstrategy", _("Can publish limit strategies"))]

    def clean(self):
        if self.step is not None and self.step <= 0:
            raise ValidationError({"step": _("The step must be positive.")})
        if self.dti_ceiling_percent is not None and not Decimal(0) < self.dti_ceiling_percent <= Decimal(100):
            raise ValidationError({"dti_ceiling_percent": _("Enter a share between 0 and 100 %.")})

    def definition(self) -> dict:
        bands = sorted(self.bands.all(), key=lambda band: (band.grade, band.income_min))
        return {
            "code": self.code, "name": self.name, "step": _plain(self.step),
            "dti_ceiling": None if self.dti_ceiling_percent is None else _plain(self.dti_ceiling_percent / 100),
            "below_minimum_outcome": self.below_minimum_outcome,
            "bands": [{"grade": band.grade, "income_min": _plain(band.income_min),
                       "income_max": None if band.income_max is None else _plain(band.income_max),
                       "multiple": _plain(band.multiple)} for band in bands],
        }


class LimitBandRow(models.Model):
    """Grade × monthly income band → limit as a multiple of monthly income."""

    strategy = models.ForeignKey(LimitStrategy, verbose_name=_("strategy"), on_delete=models.CASCADE,
                                 related_name="bands")
    grade = models.CharField(_("grade"), max_length=1, choices=GRADE_CHOICES)
    income_min = MoneyField(_("monthly income from"), default=Decimal("0.00"))
    income_max = MoneyField(_("monthly income below"), null=True, blank=True, help_text=_("Blank: no upper bound."))
    multiple = models.DecimalField(_("multiple of monthly income"), max_digits=6, decimal_places=2,
                                   validators=[MinValueValidator(Decimal(0))])

    class Meta:
        verbose_name = _("limit band")
        verbose_name_plural = _("limit bands")
        ordering = ["strategy", "grade", "income_min"]

    def __str__(self):
        return f"{self.grade} {self.income_min}–{self.income_max or '∞'} × {self.multiple}"

    def clean(self):
        if self.income_max is not None and self.income_min is not None and self.income_max <= self.income_min:
            raise ValidationError({"income_max": _("The upper bound must be above the lower bound.")})


class LimitStrategyVersion(PublishedVersion):
    strategy = models.ForeignKey(LimitStrategy, verbose_name=_("strategy"), on_delete=models.PROTECT,
                                 related_name="versions")

    parent_field = "strategy"

    class Meta:
        verbose_name = _("limit strategy version")
        verbose_name_plural = _("limit strategy versions")
        ordering = ["strategy__code", "-version"]
        constraints = [models.UniqueConstraint(fields=["strategy", "version"], name="risk_limit_unique_version")]


class PricingStrategy(WorkingCopy):
    rate_step_percent = PercentField(
        _("rate step (%)"), default=Decimal("0.0001"),
        help_text=_("Rates are quoted on this grid, in the product's basis: 0.01 for annual rates to the basis point, "
                    "0.0001 for daily rates."),
    )
    on_apr_breach = models.CharField(_("when the APR is above the product cap"), max_length=8,
                                     choices=AprBreach.choices, default=AprBreach.CLAMP)
    current_version = models.ForeignKey(
        "PricingStrategyVersion", verbose_name=_("current version"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False,
    )

    class Meta(WorkingCopy.Meta):
        verbose_name = _("pricing strategy")
        verbose_name_plural = _("pricing strategies")
        permissions = [("publish_pricingstrategy", _("Can publish pricing strategies"))]

    def clean(self):
        if self.rate_step_percent is not None and self.rate_step_percent <= 0:
            raise ValidationError({"rate_step_percent": _("The step must be positive.")})

    def definition(self) -> dict:
        return {"code": self.code, "name": self.name, "rate_step": _plain(self.rate_step_percent),
                "on_apr_breach": self.on_apr_breach,
                "positions": {row.grade: _plain(row.band_position_percent)
                              for row in sorted(self.grades.all(), key=lambda row: row.grade)}}


class PricingGradeRow(models.Model):
    """Where a grade is priced within the product's rate band: 0 % = its minimum rate, 100 % = its maximum."""

    strategy = models.ForeignKey(PricingStrategy, verbose_name=_("strategy"), on_delete=models.CASCADE,
                                 related_name="grades")
    grade = models.CharField(_("grade"), max_length=1, choices=GRADE_CHOICES)
    band_position_percent = models.DecimalField(
        _("position in the product's rate band (%)"), max_digits=5, decimal_places=2,
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))],
    )

    class Meta:
        verbose_name = _("pricing by grade")
        verbose_name_plural = _("pricing by grade")
        ordering = ["strategy", "grade"]
        constraints = [models.UniqueConstraint(fields=["strategy", "grade"], name="risk_pricing_unique_grade")]

    def __str__(self):
        return f"{self.grade}: {self.band_position_percent} %"


class PricingStrategyVersion(PublishedVersion):
    strategy = models.ForeignKey(PricingStrategy, verbose_name=_("strategy"), on_delete=models.PROTECT,
                                 related_name="versions")

    parent_field = "strategy"

    class Meta:
        verbose_name = _("pricing strategy version")
        verbose_name_plural = _("pricing strategy versions")
        ordering = ["strategy__code", "-version"]
        constraints = [models.UniqueConstraint(fields=["strategy", "version"], name="risk_pricing_unique_version")]
