"""The portfolio's nightly aggregates (组合日报), written by the daily close so that the data
dashboard and the cockpit never scan the loan table per view.

``PortfolioDay``: at the end of a business date, per product × branch × partner (the channel;
empty: own channels) × funder, the funder's parts of the open loans — how many, their principal
outstanding, and of them the overdue ones (M1+: 1 day past due or more; M3+: more than 90 days,
the buckets of DOMAIN.md) and those 30 days or more past due (DPD 30+). A co-lent loan's amounts
are split by share over its funders' rows; it is counted once, on its lead funder's row.

``VintageCell``: a vintage curve's point (账龄分析) — for the loans disbursed in a month (the
cohort), per the same dimensions, the principal disbursed and, at the end of a later month (the
month on book), the principal outstanding of those 30 days or more past due. The close rewrites
the current month's cells each night, so a past month keeps its month-end figure.

``DisbursementDay``: the loans booked with a value date, per the same dimensions — how many (on the
lead funder's row), the funder's parts and their principal, and of them the repeat loans (复贷:
the borrower had an earlier loan); ``DisbursementDate`` marks each date whose rows are written,
so the dashboard reads the loans of the other dates (today's) from the loan table."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField

__all__ = ["DisbursementDate", "DisbursementDay", "PortfolioDay", "VintageCell"]


class PortfolioDay(models.Model):
    business_date = models.DateField(_("business date"))
    product = models.ForeignKey("products.LoanProduct", verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="+")
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.CASCADE,
                               related_name="+")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    funder = models.ForeignKey("servicing.Funder", verbose_name=_("funder"), on_delete=models.CASCADE,
                               related_name="+")
    loans = models.PositiveIntegerField(_("open loans"), default=0)
    outstanding = MoneyField(_("principal outstanding"), default=0)
    m1_loans = models.PositiveIntegerField(_("loans overdue (M1+)"), default=0)
    m1_outstanding = MoneyField(_("principal outstanding overdue (M1+)"), default=0)
    dpd30_loans = models.PositiveIntegerField(_("loans 30+ days past due"), default=0)
    dpd30_outstanding = MoneyField(_("principal outstanding 30+ days past due"), default=0)
    m3_loans = models.PositiveIntegerField(_("loans overdue (M3+)"), default=0)
    m3_outstanding = MoneyField(_("principal outstanding overdue (M3+)"), default=0)

    class Meta:
        verbose_name = _("portfolio day")
        verbose_name_plural = _("portfolio days")
        ordering = ["-business_date", "product", "branch", "funder"]
        constraints = [models.UniqueConstraint(fields=["business_date", "product", "branch", "partner", "funder"],
                                               nulls_distinct=False, name="servicing_portfolio_day_unique")]
        permissions = [("view_dashboard", _("Can view the data dashboard, the cockpit and the usage statistics"))]

    def __str__(self):
        return f"{self.business_date.isoformat()} {self.product_id}/{self.branch_id}/{self.funder_id}"


class VintageCell(models.Model):
    cohort = models.DateField(_("disbursed in (month)"), help_text=_("The first day of the month."))
    month = models.DateField(_("at the end of (month)"), help_text=_("The first day of the month."))
    months_on_book = models.PositiveSmallIntegerField(_("months on book"))
    product = models.ForeignKey("products.LoanProduct", verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="+")
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.CASCADE,
                               related_name="+")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    funder = models.ForeignKey("servicing.Funder", verbose_name=_("funder"), on_delete=models.CASCADE,
                               related_name="+")
    loans = models.PositiveIntegerField(_("loans disbursed"), default=0)
    disbursed = MoneyField(_("principal disbursed"), default=0)
    dpd30_outstanding = MoneyField(_("principal outstanding 30+ days past due"), default=0)
    business_date = models.DateField(_("as of business date"))

    class Meta:
        verbose_name = _("vintage cell")
        verbose_name_plural = _("vintage cells")
        ordering = ["cohort", "months_on_book"]
        constraints = [models.UniqueConstraint(fields=["cohort", "month", "product", "branch", "partner", "funder"],
                                               nulls_distinct=False, name="servicing_vintage_cell_unique")]
        indexes = [models.Index(fields=["cohort", "months_on_book"], name="servicing_vintage_cohort")]

    def __str__(self):
        return f"{self.cohort:%Y-%m} +{self.months_on_book}"


class DisbursementDay(models.Model):
    business_date = models.DateField(_("value date"))
    product = models.ForeignKey("products.LoanProduct", verbose_name=_("product"), on_delete=models.CASCADE,
                                related_name="+")
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.CASCADE,
                               related_name="+")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.CASCADE, related_name="+")
    funder = models.ForeignKey("servicing.Funder", verbose_name=_("funder"), on_delete=models.CASCADE,
                               related_name="+")
    loans = models.PositiveIntegerField(_("loans (lead funder)"), default=0)
    parts = models.PositiveIntegerField(_("loans the funder has a part of"), default=0)
    amount = MoneyField(_("principal disbursed (the funder's parts)"), default=0)
    repeat_loans = models.PositiveIntegerField(_("repeat loans (lead funder)"), default=0)
    repeat_parts = models.PositiveIntegerField(_("repeat loans the funder has a part of"), default=0)

    class Meta:
        verbose_name = _("disbursement day")
        verbose_name_plural = _("disbursement days")
        ordering = ["-business_date", "product", "branch", "funder"]
        constraints = [models.UniqueConstraint(fields=["business_date", "product", "branch", "partner", "funder"],
                                               nulls_distinct=False, name="servicing_disbursement_day_unique")]

    def __str__(self):
        return f"{self.business_date.isoformat()} {self.product_id}/{self.branch_id}/{self.funder_id}"


class DisbursementDate(models.Model):
    """A value date whose ``DisbursementDay`` rows are written (none when nothing was disbursed)."""

    business_date = models.DateField(_("value date"), unique=True)
    written_at = models.DateTimeField(_("written at"), auto_now=True)

    class Meta:
        verbose_name = _("disbursement date")
        verbose_name_plural = _("disbursement dates")
        ordering = ["-business_date"]

    def __str__(self):
        return self.business_date.isoformat()
