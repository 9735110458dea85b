"""Loans (贷款), their funding parts and their schedule — the per-loan sub-ledger.

A loan is booked when its disbursement is confirmed: value date = the business date, schedule from
the repayment engine. Its balances (principal outstanding, interest / penalty / fee receivable, a
credit balance of money paid beyond what was due) are updated in the same transaction as every
money event, beside the journal entry that event writes; ``servicing.reconciliation`` proves that
Σ loan balances = the control accounts of the general ledger.

Watermarks for the daily close (next issue): ``accrued_through`` (interest accrued up to and
including this business date), ``penalty_through`` and ``closed_through``; a re-run of a date finds
the work done and changes nothing.

A co-lent loan has one ``LoanPart`` per funder: its share of the principal (rounded to the fen, the
lead funder — the largest share — takes the rounding rest) and, later, of every repayment."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField, PercentField
from creditfactory.core.models import TimeStampedModel
from products.choices import DayCount, RateBasis, RepaymentMethod, TermUnit

__all__ = ["Installment", "InstallmentStatus", "Loan", "LoanPart", "LoanStatus"]


class LoanStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    OVERDUE = "overdue", _("Overdue")
    CLOSED = "closed", _("Paid off")
    WRITTEN_OFF = "written_off", _("Written off")


class Loan(TimeStampedModel):
    number = models.CharField(_("loan number"), max_length=32, unique=True)
    drawdown = models.OneToOneField("servicing.Drawdown", verbose_name=_("drawdown"), on_delete=models.PROTECT,
                                    related_name="loan")
    credit_line = models.ForeignKey("servicing.CreditLine", verbose_name=_("credit line"), on_delete=models.PROTECT,
                                    related_name="loans")
    # applicant, product version, branch and status: no index of their own — the composite indexes
    # below lead with them (the nightly close updates every open loan: each index costs a write).
    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("borrower"), on_delete=models.PROTECT,
                                  related_name="loans", db_index=False)
    product_version = models.ForeignKey("products.ProductVersion", verbose_name=_("product version"),
                                        on_delete=models.PROTECT, related_name="loans", db_index=False)
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.PROTECT,
                               related_name="loans", db_index=False)
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="loans")
    status = models.CharField(_("status"), max_length=12, choices=LoanStatus.choices, default=LoanStatus.ACTIVE)
    principal = MoneyField(_("principal"))
    value_date = models.DateField(_("value date"))
    maturity_date = models.DateField(_("maturity date"))
    rate_percent = PercentField(_("rate (%)"))
    rate_basis = models.CharField(_("rate quoted as"), max_length=8, choices=RateBasis.choices)
    day_count = models.CharField(_("day count"), max_length=8, choices=DayCount.choices)
    repayment_method = models.CharField(_("repayment method"), max_length=24, choices=RepaymentMethod.choices)
    term = models.PositiveIntegerField(_("term"))
    term_unit = models.CharField(_("term unit"), max_length=8, choices=TermUnit.choices)
    upfront_fee = MoneyField(_("upfront fee"), default=0)
    apr_percent = PercentField(_("APR (%)"), null=True, blank=True)
    penalty_rate_percent = PercentField(
        _("penalty rate (annual %)"), null=True, blank=True,
        help_text=_("Penalty interest (罚息) rate: the contract rate as an annual rate × the version's multiplier."),
    )
    # The sub-ledger: balances kept beside the journal, in the same transaction.
    principal_outstanding = MoneyField(_("principal outstanding"))
    interest_receivable = MoneyField(_("interest receivable"), default=0)
    penalty_receivable = MoneyField(_("penalty receivable"), default=0)
    fee_receivable = MoneyField(_("fee receivable"), default=0)
    credit_balance = MoneyField(_("credit balance"), default=0)
    # Watermarks of the daily close.
    accrued_through = models.DateField(_("interest accrued through"), null=True, blank=True)
    penalty_through = models.DateField(_("penalty accrued through"), null=True, blank=True)
    closed_through = models.DateField(_("closed through"), null=True, blank=True)
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    next_due_date = models.DateField(_("next due date"), null=True, blank=True)
    closed_on = models.DateField(_("closed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="servicing_loan_principal_positive"),
            models.CheckConstraint(condition=Q(principal_outstanding__gte=0) & Q(interest_receivable__gte=0)
                                   & Q(penalty_receivable__gte=0) & Q(fee_receivable__gte=0)
                                   & Q(credit_balance__gte=0), name="servicing_loan_balances_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="servicing_loan_status_id"),
            # The portfolio list's sorts and filters (servicing.selectors.loans.LOAN_SORTS): an
            # index each, so a page of a million-loan portfolio reads only its rows.
            models.Index(fields=["value_date", "id"], name="servicing_loan_value_date"),
            models.Index(fields=["days_past_due", "id"], name="servicing_loan_dpd"),
            models.Index(fields=["principal_outstanding", "id"], name="servicing_loan_outstanding"),
            models.Index(fields=["maturity_date", "id"], name="servicing_loan_maturity"),
            models.Index(fields=["branch", "value_date", "id"], name="servicing_loan_branch_date"),
            models.Index(fields=["product_version", "value_date", "id"], name="servicing_loan_version_date"),
            # the data dashboard's repeat borrowing (复贷率): a borrower's earlier loan, one probe
            models.Index(fields=["applicant", "value_date", "id"], name="servicing_loan_applicant_date"),
        ]

    def __str__(self):
        return self.number


class LoanPart(models.Model):
    """One funder's part of a loan (its sub-ledger for co-lending)."""

    # no index of their own: the unique (loan, funder) and the (funder, loan) index lead with them
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.CASCADE, related_name="parts",
                             db_index=False)
    funder = models.ForeignKey("servicing.Funder", verbose_name=_("funder"), on_delete=models.PROTECT,
                               related_name="loan_parts", db_index=False)
    share_percent = PercentField(_("share (%)"))
    rate_percent = PercentField(_("funder's rate (annual %)"))
    lead = models.BooleanField(_("lead funder"), default=False)
    principal = MoneyField(_("principal"))
    principal_outstanding = MoneyField(_("principal outstanding"))
    interest_receivable = MoneyField(_("interest receivable"), default=0)
    penalty_receivable = MoneyField(_("penalty receivable"), default=0)
    fee_receivable = MoneyField(_("fee receivable"), default=0)
    credit_balance = MoneyField(_("credit balance"), default=0)

    class Meta:
        verbose_name = _("loan part")
        verbose_name_plural = _("loan parts")
        ordering = ["loan", "-lead", "funder__code"]
        constraints = [models.UniqueConstraint(fields=["loan", "funder"], name="servicing_loan_part_unique")]
        indexes = [models.Index(fields=["funder", "loan"], name="servicing_loan_part_funder")]

    def __str__(self):
        share = f"{self.share_percent.normalize():f}"
        return _("%(funder)s, %(share)s %%") % {"funder": self.funder, "share": share}


class InstallmentStatus(models.TextChoices):
    PENDING = "pending", _("Not yet due")
    DUE = "due", _("Due")
    OVERDUE = "overdue", _("Overdue")
    PAID = "paid", _("Paid")


class Installment(models.Model):
    """One row of the schedule (the calculator's names), with what has been paid of it."""

    # no index of its own: the unique (loan, number) leads with it
    loan = models.ForeignKey(Loan, verbose_name=_("loan"), on_delete=models.CASCADE, related_name="installments",
                             db_index=False)
    number = models.PositiveSmallIntegerField(_("installment"))
    period_start = models.DateField(_("period start"), null=True, blank=True,
                                    help_text=_("Interest of this installment runs from here to the due date: the "
                                                "previous due date, or the loan's value date."))
    due_date = models.DateField(_("due date"))
    principal = MoneyField(_("principal"))
    interest = MoneyField(_("interest"))
    fee = MoneyField(_("fee"), default=0)
    payment = MoneyField(_("payment"))
    remaining_principal = MoneyField(_("remaining principal"))
    interest_accrued = MoneyField(_("interest accrued"), default=0,
                                  help_text=_("Of this installment's interest, what the daily close has accrued; "
                                              "equals its interest from the due date on."))
    principal_paid = MoneyField(_("principal paid"), default=0)
    interest_paid = MoneyField(_("interest paid"), default=0)
    fee_paid = MoneyField(_("fee paid"), default=0)
    penalty_accrued = MoneyField(_("penalty interest"), default=0)
    penalty_paid = MoneyField(_("penalty paid"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=InstallmentStatus.choices,
                              default=InstallmentStatus.PENDING)
    settled_on = models.DateField(_("settled on"), null=True, blank=True)

    class Meta:
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        ordering = ["loan", "number"]
        constraints = [models.UniqueConstraint(fields=["loan", "number"], name="servicing_installment_unique")]
        indexes = [
            models.Index(fields=["due_date", "status"], name="servicing_installment_due"),
            # the start of day's fees falling due: only installments with a fee still to receive
            models.Index(fields=["due_date"], name="servicing_installment_fee_open",
                         condition=Q(fee__gt=F("fee_paid")) & ~Q(status="paid")),
        ]

    def __str__(self):
        return _("Installment %(number)s") % {"number": self.number}
