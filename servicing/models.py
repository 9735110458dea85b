"""Servicing models. ``CreditLine`` (授信额度): the line granted when an application is approved —
limit, rate, grade, validity, status, linked to the risk decision it was granted on. Status
changes go through ``creditfactory.core.state.change_state`` (``LINE_MACHINE``); every field
change is in the line's history. Drawdowns against ``used`` come with the next issue.
"""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from creditfactory.core.fields import MoneyField, PercentField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.state import StateMachine
from products.models import RateBasis

__all__ = ["CreditLine", "CreditLineStatus", "LINE_MACHINE"]


class CreditLineStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    FROZEN = "frozen", _("Frozen")
    TERMINATED = "terminated", _("Terminated")
    EXPIRED = "expired", _("Expired")


_L = CreditLineStatus
LINE_MACHINE = StateMachine({
    _L.ACTIVE: frozenset({_L.FROZEN, _L.TERMINATED, _L.EXPIRED}),
    _L.FROZEN: frozenset({_L.ACTIVE, _L.TERMINATED, _L.EXPIRED}),
})


class CreditLine(TimeStampedModel):
    application = models.OneToOneField(
        "workflows.CreditApplication", verbose_name=_("application"), on_delete=models.PROTECT,
        related_name="credit_line",
    )
    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("applicant"), on_delete=models.PROTECT,
                                  related_name="credit_lines")
    enterprise = models.ForeignKey("risk.Enterprise", verbose_name=_("enterprise"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="credit_lines")
    product_version = models.ForeignKey("products.ProductVersion", verbose_name=_("product version"),
                                        on_delete=models.PROTECT, related_name="credit_lines")
    decision = models.ForeignKey("risk.Decision", verbose_name=_("risk decision"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="credit_lines",
                                 help_text=_("Empty when the automated assessment failed and staff decided."))
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.PROTECT,
                               related_name="credit_lines")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="credit_lines")
    limit = MoneyField(_("limit"))
    used = MoneyField(_("used"), default=0)
    rate_percent = PercentField(_("rate (%)"))
    rate_basis = models.CharField(_("rate quoted as"), max_length=8, choices=RateBasis.choices)
    grade = models.CharField(_("grade"), max_length=1, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    status = models.CharField(_("status"), max_length=12, choices=CreditLineStatus.choices,
                              default=CreditLineStatus.ACTIVE, db_index=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("credit line")
        verbose_name_plural = _("credit lines")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(limit__gt=0), name="servicing_line_limit_positive"),
            models.CheckConstraint(condition=Q(used__gte=0) & Q(used__lte=F("limit")),
                                   name="servicing_line_used_within_limit"),
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="servicing_line_validity"),
        ]

    def __str__(self):
        return f"CL{self.pk:08d}" if self.pk else "CL (new)"

    @property
    def available(self):
        return self.limit - self.used
