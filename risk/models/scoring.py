"""Risk models: scorecards (个人信用评级) — characteristics over catalogue features, bins with
points, grade cut-offs — and their published versions. Limit and pricing strategies live in
``strategies`` and are re-exported here so the package ``__init__`` registers them."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from risk.catalogue import CATALOGUE, FEATURES
from risk.scoring import GRADES

from .strategies import *  # noqa: F401,F403 - registered through this module
from .strategies import __all__ as _strategy_models
from .versioning import PublishedVersion, WorkingCopy

__all__ = ["Characteristic", "ScoreBin", "Scorecard", "ScorecardVersion", *_strategy_models]

FEATURE_CHOICES = [(feature.name, f"{feature.name} — {feature.description}") for feature in FEATURES]


def _grade_letters(value: str) -> list[str]:
    return sorted({letter for letter in (value or "").upper() if not letter.isspace() and letter != ","})


class Scorecard(WorkingCopy):
    base_score = models.IntegerField(_("base score"), default=600)
    cutoff_a = models.IntegerField(_("lowest score of grade A"))
    cutoff_b = models.IntegerField(_("lowest score of grade B"))
    cutoff_c = models.IntegerField(_("lowest score of grade C"))
    cutoff_d = models.IntegerField(_("lowest score of grade D"), help_text=_("Below this the grade is E."))
    refer_grades = models.CharField(_("grades referred to review"), max_length=9, blank=True, default="D",
                                    help_text=_("Letters, e.g. “D”."))
    reject_grades = models.CharField(_("grades rejected"), max_length=9, blank=True, default="E",
                                     help_text=_("Letters, e.g. “E”."))
    current_version = models.ForeignKey(
        "ScorecardVersion", verbose_name=_("current version"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", editable=False,
    )

    class Meta(WorkingCopy.Meta):
        verbose_name = _("scorecard")
        verbose_name_plural = _("scorecards")
        permissions = [("publish_scorecard", _("Can publish scorecards"))]

    def clean(self):
        errors = {}
        cutoffs = [self.cutoff_a, self.cutoff_b, self.cutoff_c, self.cutoff_d]
        if None not in cutoffs and not all(high > low for high, low in zip(cutoffs, cutoffs[1:])):
            errors["cutoff_d"] = [_("Cut-offs must fall strictly from A to D (A > B > C > D).")]
        for field in ("refer_grades", "reject_grades"):
            letters = _grade_letters(getattr(self, field))
            if any(letter not in GRADES for letter in letters):
                errors[field] = [_("Use the grade letters A to E.")]
            setattr(self, field, "".join(letters))
        if set(self.refer_grades) & set(self.reject_grades):
            errors["reject_grades"] = [_("A grade cannot be both referred and rejected.")]
        if errors:
            raise ValidationError(errors)

    def definition(self) -> dict:
        characteristics = sorted(self.characteristics.all(), key=lambda c: (c.position, c.pk or 0))
        return {
            "code": self.code, "name": self.name, "base_score": self.base_score,
            "cutoffs": {"A": self.cutoff_a, "B": self.cutoff_b, "C": self.cutoff_c, "D": self.cutoff_d},
            "refer_grades": list(self.refer_grades), "reject_grades": list(self.reject_grades),
            "characteristics": [characteristic.spec_json() for characteristic in characteristics],
        }


class Characteristic(models.Model):
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.CASCADE,
                                  related_name="characteristics")
    feature = models.CharField(_("feature"), max_length=64, choices=FEATURE_CHOICES)
    label = models.CharField(_("label"), max_length=120, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    default_points = models.IntegerField(
        _("points when no bin holds the value"), default=0,
        help_text=_("Also used when the feature's data source is unavailable."),
    )

    class Meta:
        verbose_name = _("characteristic")
        verbose_name_plural = _("characteristics")
        ordering = ["scorecard", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "feature"], name="risk_characteristic_unique")]

    def __str__(self):
        return self.label or self.feature

    @property
    def is_numeric(self) -> bool:
        feature = CATALOGUE.get(self.feature)
        return feature is not None and feature.type in ("int", "decimal")

    def spec_json(self) -> dict:
        bins = sorted(self.bins.all(), key=lambda b: (b.position, b.pk or 0))
        return {"feature": self.feature, "label": self.label or self.feature, "default_points": self.default_points,
                "bins": [item.spec_json() for item in bins]}


def _number(value) -> str | None:
    return None if value is None else f"{Decimal(value).normalize():f}"


class ScoreBin(models.Model):
    """Numeric features: ``lower <= value < upper`` (blank = open). Text and yes/no features:
    ``categories``, comma-separated (``true``/``false`` for yes/no)."""

    characteristic = models.ForeignKey(Characteristic, verbose_name=_("characteristic"), on_delete=models.CASCADE,
                                       related_name="bins")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    label = models.CharField(_("label"), max_length=120, blank=True)
    lower = models.DecimalField(_("from (inclusive)"), max_digits=18, decimal_places=4, null=True, blank=True)
    upper = models.DecimalField(_("to (exclusive)"), max_digits=18, decimal_places=4, null=True, blank=True)
    categories = models.CharField(_("categories"), max_length=255, blank=True,
                                  help_text=_("Comma-separated values, e.g. “employed, self_employed” or “true”."))
    points = models.IntegerField(_("points"))

    class Meta:
        verbose_name = _("bin")
        verbose_name_plural = _("bins")
        ordering = ["characteristic", "position", "id"]

    def __str__(self):
        return self.label or self.categories or f"[{self.lower}, {self.upper})"

    @property
    def category_list(self) -> list[str]:
        return [item.strip() for item in self.categories.split(",") if item.strip()]

    def clean(self):
        try:
            numeric = self.characteristic.is_numeric
        except Characteristic.DoesNotExist:
            return
        if numeric:
            if self.categories.strip():
                raise ValidationError({"categories": _("A numeric feature is binned by range, not by category.")})
            if self.lower is not None and self.upper is not None and self.lower >= self.upper:
                raise ValidationError({"upper": _("“To” must be above “from”.")})
        else:
            if self.lower is not None or self.upper is not None:
                raise ValidationError({"lower": _("A text or yes/no feature is binned by category, not by range.")})
            if not self.category_list:
                raise ValidationError({"categories": _("List the values this bin holds.")})
            feature = CATALOGUE.get(self.characteristic.feature)
            if feature is not None and feature.type == "bool" and any(
                value not in ("true", "false") for value in self.category_list
            ):
                raise ValidationError({"categories": _("A yes/no feature has the categories “true” and “false”.")})

    def spec_json(self) -> dict:
        return {"label": self.label, "points": self.points, "lower": _number(self.lower), "upper": _number(self.upper),
                "categories": self.category_list}


class ScorecardVersion(PublishedVersion):
    scorecard = models.ForeignKey(Scorecard, verbose_name=_("scorecard"), on_delete=models.PROTECT,
                                  related_name="versions")

    parent_field = "scorecard"

    class Meta:
        verbose_name = _("scorecard version")
        verbose_name_plural = _("scorecard versions")
        ordering = ["scorecard__code", "-version"]
        constraints = [models.UniqueConstraint(fields=["scorecard", "version"], name="risk_scorecard_unique_version")]
