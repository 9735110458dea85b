"""Admin: scorecards (characteristics inline; each characteristic's bins on its own page, since
the admin cannot nest inlines), grade cut-offs, limit and pricing strategies, their publishing
and their read-only published versions."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _

from risk.models import (
    Characteristic,
    LimitBandRow,
    LimitStrategy,
    LimitStrategyVersion,
    PricingGradeRow,
    PricingStrategy,
    PricingStrategyVersion,
    ScoreBin,
    Scorecard,
    ScorecardVersion,
)
from risk.scoring import BinSpec
from risk.services.policies import bin_overlaps, limit_strategy_publish, pricing_strategy_publish, scorecard_publish

from .versioning import PublishedVersionAdmin, VersionedAdmin


class CharacteristicInline(admin.TabularInline):
    model = Characteristic
    extra = 0
    fields = ("position", "feature", "label", "default_points")
    show_change_link = True
    verbose_name_plural = _("characteristics (open one to edit its bins)")


@admin.register(Scorecard)
class ScorecardAdmin(VersionedAdmin):
    publish = staticmethod(scorecard_publish)
    publish_kwarg = "scorecard"
    definition_prefetch = ("characteristics__bins",)
    list_display = ("code", "name", "base_score", "cutoff_a", "cutoff_b", "cutoff_c", "cutoff_d", "version_number",
                    "unpublished_changes")
    fieldsets = (
        (None, {"fields": ("code", "name", "description", "base_score", "current_version_link",
                           "unpublished_changes")}),
        (_("Grades (score → A–E)"), {"fields": (("cutoff_a", "cutoff_b", "cutoff_c", "cutoff_d"),
                                               ("refer_grades", "reject_grades"))}),
    )
    inlines = [CharacteristicInline]


class BinFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        specs = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or "points" not in data:
                continue
            specs.append(BinSpec(label=data.get("label") or "", points=data["points"], lower=data.get("lower"),
                                 upper=data.get("upper"),
                                 categories=tuple(c.strip() for c in (data.get("categories") or "").split(",")
                                                  if c.strip())))
        problems = bin_overlaps(specs)
        if problems:
            raise ValidationError(problems)


class ScoreBinInline(admin.TabularInline):
    model = ScoreBin
    formset = BinFormSet
    extra = 1
    fields = ("position", "label", "lower", "upper", "categories", "points")


@admin.register(Characteristic)
class CharacteristicAdmin(admin.ModelAdmin):
    list_display = ("scorecard", "feature", "label", "position", "default_points")
    list_filter = ("scorecard",)
    list_select_related = ("scorecard",)
    fields = ("scorecard", "feature", "label", "position", "default_points")
    inlines = [ScoreBinInline]

    def get_model_perms(self, request):
        # Reached from its scorecard, not from the admin index.
        return {}


@admin.register(ScorecardVersion)
class ScorecardVersionAdmin(PublishedVersionAdmin):
    list_display = ("scorecard", "version", "published_at", "published_by")
    list_filter = ("scorecard",)
    list_select_related = ("scorecard", "published_by")
    readonly_fields = ("scorecard", *PublishedVersionAdmin.readonly_fields)


class LimitBandInline(admin.TabularInline):
    model = LimitBandRow
    extra = 0
    fields = ("grade", "income_min", "income_max", "multiple")


@admin.register(LimitStrategy)
class LimitStrategyAdmin(VersionedAdmin):
    publish = staticmethod(limit_strategy_publish)
    publish_kwarg = "strategy"
    definition_prefetch = ("bands",)
    list_display = ("code", "name", "step", "dti_ceiling_percent", "below_minimum_outcome", "version_number",
                    "unpublished_changes")
    fields = ("code", "name", "description", "step", "dti_ceiling_percent", "below_minimum_outcome",
              "current_version_link", "unpublished_changes")
    inlines = [LimitBandInline]


class PricingGradeInline(admin.TabularInline):
    model = PricingGradeRow
    extra = 0
    fields = ("grade", "band_position_percent")


@admin.register(PricingStrategy)
class PricingStrategyAdmin(VersionedAdmin):
    publish = staticmethod(pricing_strategy_publish)
    publish_kwarg = "strategy"
    definition_prefetch = ("grades",)
    list_display = ("code", "name", "rate_step_percent", "on_apr_breach", "version_number", "unpublished_changes")
    fields = ("code", "name", "description", "rate_step_percent", "on_apr_breach", "current_version_link",
              "unpublished_changes")
    inlines = [PricingGradeInline]


@admin.register(LimitStrategyVersion)
class LimitStrategyVersionAdmin(PublishedVersionAdmin):
    list_display = ("strategy", "version", "published_at", "published_by")
    list_select_related = ("strategy", "published_by")
    readonly_fields = ("strategy", *PublishedVersionAdmin.readonly_fields)


@admin.register(PricingStrategyVersion)
class PricingStrategyVersionAdmin(PublishedVersionAdmin):
    list_display = ("strategy", "version", "published_at", "published_by")
    list_select_related = ("strategy", "published_by")
    readonly_fields = ("strategy", *PublishedVersionAdmin.readonly_fields)
