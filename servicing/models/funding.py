"""Funders (资金方) and funding routes (资金路由) for the three business models of DOMAIN.md:
own balance sheet (自营), facilitation partner banks (助贷) and co-lending (联合贷).

Quotas are held with conditional UPDATEs (``servicing.locks``): ``Funder.total_used`` against
``total_quota`` and one ``FunderQuotaDay`` row per funder and business date against
``daily_quota``. A drawdown's share of each funder is a ``DrawdownFunding`` row; what routing
considered is recorded on the drawdown (``Drawdown.routing``)."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from creditfactory.core.fields import MoneyField, PercentField
from creditfactory.core.models import TimeStampedModel

__all__ = [
    "CoLendingPair", "CoLendingShare", "DrawdownFunding", "Funder", "FunderKind", "FunderQuotaDay",
    "FundingHoldStatus", "RoutingRule",
]


class FunderKind(models.TextChoices):
    OWN = "own", _("Own funds (自营)")
    FACILITATION = "facilitation", _("Facilitation partner bank (助贷)")
    CO_LENDER = "co_lender", _("Co-lender (联合贷)")


class Funder(TimeStampedModel):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("business model"), max_length=16, choices=FunderKind.choices)
    cost_of_funds_percent = PercentField(_("cost of funds (annual %)"))
    daily_quota = MoneyField(_("daily quota"), null=True, blank=True, help_text=_("Empty: no daily quota."))
    total_quota = MoneyField(_("total quota"), null=True, blank=True, help_text=_("Empty: no total quota."))
    total_used = MoneyField(_("total quota used"), default=0)
    products = models.ManyToManyField("products.LoanProduct", verbose_name=_("allowed products"), blank=True,
                                      related_name="funders", help_text=_("Empty: every product."))
    priority = models.PositiveSmallIntegerField(_("priority"), default=100, help_text=_("Lower is tried first."))
    active_from = models.TimeField(_("active from"), null=True, blank=True,
                                   help_text=_("Local time (Asia/Shanghai); empty: all day."))
    active_until = models.TimeField(_("active until"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    settlement_account = models.CharField(_("settlement account"), max_length=64, blank=True)
    history = HistoricalRecords(excluded_fields=["updated_at", "total_used"])

    class Meta:
        verbose_name = _("funder")
        verbose_name_plural = _("funders")
        ordering = ["priority", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(total_used__gte=0), name="servicing_funder_used_positive"),
            models.CheckConstraint(condition=Q(total_quota__isnull=True) | Q(total_used__lte=F("total_quota")),
                                   name="servicing_funder_within_quota"),
        ]

    def __str__(self):
        return self.name


class FunderQuotaDay(models.Model):
    funder = models.ForeignKey(Funder, verbose_name=_("funder"), on_delete=models.CASCADE, related_name="quota_days")
    business_date = models.DateField(_("business date"))
    used = MoneyField(_("used"), default=0)

    class Meta:
        verbose_name = _("funder daily quota use")
        verbose_name_plural = _("funder daily quota use")
        constraints = [
            models.UniqueConstraint(fields=["funder", "business_date"], name="servicing_quota_day_unique"),
            models.CheckConstraint(condition=Q(used__gte=0), name="servicing_quota_day_positive"),
        ]


class CoLendingPair(TimeStampedModel):
    """Two (or more) funders lending together, each its share of every loan (e.g. 30/70)."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("co-lending pair")
        verbose_name_plural = _("co-lending pairs")
        ordering = ["code"]

    def __str__(self):
        return self.name


class CoLendingShare(models.Model):
    pair = models.ForeignKey(CoLendingPair, verbose_name=_("co-lending pair"), on_delete=models.CASCADE,
                             related_name="shares")
    funder = models.ForeignKey(Funder, verbose_name=_("funder"), on_delete=models.PROTECT, related_name="shares")
    share_percent = PercentField(_("share (%)"))
    rate_percent = PercentField(_("funder's rate (annual %)"), null=True, blank=True,
                                help_text=_("Empty: the funder's cost of funds."))

    class Meta:
        verbose_name = _("co-lending share")
        verbose_name_plural = _("co-lending shares")
        ordering = ["pair", "-share_percent", "funder__code"]
        constraints = [
            models.UniqueConstraint(fields=["pair", "funder"], name="servicing_share_unique_funder"),
            models.CheckConstraint(condition=Q(share_percent__gt=0) & Q(share_percent__lte=100),
                                   name="servicing_share_percent_range"),
        ]


class RoutingRule(TimeStampedModel):
    """One route: when a drawdown matches (every filled-in condition), fund it with ``funder`` or
    the co-lending ``pair``. Tried by priority; a ``fallback`` rule matches anything."""

    name = models.CharField(_("name"), max_length=120)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100, help_text=_("Lower is tried first."))
    active = models.BooleanField(_("active"), default=True)
    products = models.ManyToManyField("products.LoanProduct", verbose_name=_("products"), blank=True,
                                      related_name="routing_rules", help_text=_("Empty: every product."))
    amount_min = MoneyField(_("minimum amount"), null=True, blank=True)
    amount_max = MoneyField(_("maximum amount"), null=True, blank=True)
    term_min = models.PositiveIntegerField(_("minimum term"), null=True, blank=True)
    term_max = models.PositiveIntegerField(_("maximum term"), null=True, blank=True)
    grades = models.JSONField(_("grades"), default=list, blank=True, help_text=_("Empty: every grade."))
    regions = models.JSONField(_("regions (province codes)"), default=list, blank=True,
                               help_text=_("Empty: every region."))
    funder = models.ForeignKey(Funder, verbose_name=_("funder"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="routing_rules")
    pair = models.ForeignKey(CoLendingPair, verbose_name=_("co-lending pair"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="routing_rules")
    fallback = models.BooleanField(_("fallback"), default=False, help_text=_("Matches any drawdown."))
    history = HistoricalRecords(excluded_fields=["updated_at"], m2m_fields=[products])

    class Meta:
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(funder__isnull=True, pair__isnull=False)
                                   | Q(funder__isnull=False, pair__isnull=True),
                                   name="servicing_route_one_target"),
        ]

    def __str__(self):
        return self.name


class FundingHoldStatus(models.TextChoices):
    HELD = "held", _("Held")
    POSTED = "posted", _("Posted")
    RELEASED = "released", _("Released")


class DrawdownFunding(models.Model):
    """One funder's part of a drawdown: its share, its principal (rounded to the fen, the lead
    funder takes the rest) and the state of its quota hold."""

    drawdown = models.ForeignKey("servicing.Drawdown", verbose_name=_("drawdown"), on_delete=models.CASCADE,
                                 related_name="funding")
    funder = models.ForeignKey(Funder, verbose_name=_("funder"), on_delete=models.PROTECT, related_name="+")
    share_percent = PercentField(_("share (%)"))
    principal = MoneyField(_("principal"))
    rate_percent = PercentField(_("funder's rate (annual %)"))
    lead = models.BooleanField(_("lead funder"), default=False)
    business_date = models.DateField(_("quota day"))
    hold_status = models.CharField(_("quota"), max_length=10, choices=FundingHoldStatus.choices,
                                   default=FundingHoldStatus.HELD)

    class Meta:
        verbose_name = _("drawdown funding")
        verbose_name_plural = _("drawdown funding")
        ordering = ["drawdown", "-lead", "funder__code"]
        constraints = [models.UniqueConstraint(fields=["drawdown", "funder"], name="servicing_funding_unique")]
