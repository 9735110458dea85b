"""Unit economics configuration (单笔信贷结构核算, docs/economics.md): what acquiring a loan costs
per channel or partner, and the expected loss (PD × LGD) per grade. Edited in admin; read by
``workflows.selectors.economics`` for each loan's contribution margin and by the pricing simulator.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField, PercentField

from collection.models import ContactChannel

from .applications import Channel

__all__ = ["AcquisitionCost", "CollectionContactCost", "ExpectedLossRate"]

_PERCENT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]


class AcquisitionCost(models.Model):
    """What acquiring one loan costs (获客成本): a fixed amount per loan plus a percent of its
    principal. The most specific row applies: the loan's partner, else its channel, else the row
    with neither (the default)."""

    partner = models.OneToOneField("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                   on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, blank=True)
    per_loan = MoneyField(_("per loan (CNY)"), default=0, validators=[MinValueValidator(Decimal("0"))])
    percent_of_principal = PercentField(_("percent of the principal"), default=0, validators=_PERCENT)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("acquisition cost")
        verbose_name_plural = _("acquisition costs")
        ordering = ["partner__code", "channel", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel"], condition=Q(partner__isnull=True),
                                    name="workflows_acquisition_one_per_channel"),
        ]

    def __str__(self):
        if self.partner_id:
            return str(self.partner)
        return str(self.get_channel_display()) if self.channel else str(_("Default"))


class ExpectedLossRate(models.Model):
    """The expected loss of a grade (预期损失): probability of default × loss given default, both
    in percent, applied to the principal lent."""

    grade = models.CharField(_("grade"), max_length=1, unique=True)
    pd_percent = PercentField(_("probability of default (%)"), validators=_PERCENT)
    lgd_percent = PercentField(_("loss given default (%)"), validators=_PERCENT)

    class Meta:
        verbose_name = _("expected loss rate")
        verbose_name_plural = _("expected loss rates")
        ordering = ["grade"]
        permissions = [("view_unit_economics", _("Can view unit economics and use the pricing simulator"))]

    def __str__(self):
        return self.grade


class CollectionContactCost(models.Model):
    """What one collection contact costs (催收成本) by channel — a call's minutes, an SMS, a field
    visit's travel: added to each loan's collection cost beside the agencies' commission."""

    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices, unique=True)
    cost = MoneyField(_("cost per contact (CNY)"), validators=[MinValueValidator(Decimal("0"))])

    class Meta:
        verbose_name = _("collection contact cost")
        verbose_name_plural = _("collection contact costs")
        ordering = ["channel"]

    def __str__(self):
        return str(self.get_channel_display())
