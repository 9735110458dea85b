"""The collections' nightly aggregates, written by the daily close at the end of a date's run
(``collection.services.snapshot``) so that the data dashboard never scans loans, cases or
repayments per view.

``ClassificationDay``: at the end of a business date, per product × branch × partner (empty: own
channels) × funder × class (五级分类), the funder's parts of the open loans — how many (a co-lent
loan counted once, on its lead funder's row) and their principal outstanding (split by share), as
``servicing.PortfolioDay`` counts them. A loan without a ``LoanClass`` row is normal.

``RecoveryDay``: per business date × bucket × the same dimensions (a co-lent loan's amounts split
by share as the ledger splits them, the lead funder taking the rounding rest; its case counted on
the lead funder's row): the cases that entered the bucket that day and what their loans owed then
(principal, interest, penalty, fee), and what borrowers repaid that day on loans whose case was
open and in the bucket (posted repayments less what went to the credit balance)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField

from .config import Classification

__all__ = ["ClassificationDay", "RecoveryDay"]


class ClassificationDay(models.Model):
    business_date = models.DateField(_("business date"))
    product = models.ForeignKey("products.LoanProduct", verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="+")
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.CASCADE,
                               related_name="+")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    funder = models.ForeignKey("servicing.Funder", verbose_name=_("funder"), on_delete=models.CASCADE,
                               related_name="+")
    classification = models.CharField(_("classification"), max_length=16, choices=Classification.choices)
    loans = models.PositiveIntegerField(_("open loans"), default=0)
    outstanding = MoneyField(_("principal outstanding"), default=0)

    class Meta:
        verbose_name = _("classification day")
        verbose_name_plural = _("classification days")
        ordering = ["-business_date", "product", "branch", "funder", "classification"]
        constraints = [models.UniqueConstraint(
            fields=["business_date", "product", "branch", "partner", "funder", "classification"],
            nulls_distinct=False, name="collections_classification_day_unique")]

    def __str__(self):
        return f"{self.business_date.isoformat()} {self.classification}"


class RecoveryDay(models.Model):
    business_date = models.DateField(_("business date"))
    bucket = models.CharField(_("bucket"), max_length=8)
    product = models.ForeignKey("products.LoanProduct", verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="+")
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.CASCADE,
                               related_name="+")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    funder = models.ForeignKey("servicing.Funder", verbose_name=_("funder"), on_delete=models.CASCADE,
                               related_name="+")
    entered = models.PositiveIntegerField(_("cases that entered the bucket"), default=0)
    entered_owed = MoneyField(_("owed when they entered"), default=0)
    recovered = MoneyField(_("recovered"), default=0)

    class Meta:
        verbose_name = _("recovery day")
        verbose_name_plural = _("recovery days")
        ordering = ["-business_date", "bucket"]
        constraints = [models.UniqueConstraint(
            fields=["business_date", "bucket", "product", "branch", "partner", "funder"],
            nulls_distinct=False, name="collections_recovery_day_unique")]

    def __str__(self):
        return f"{self.business_date.isoformat()} {self.bucket}"
