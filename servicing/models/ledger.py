"""The ledger (双分录): a chart of accounts per funder and a journal of balanced entries.

Journal entries and lines are append-only, enforced by PostgreSQL triggers (django-pgtrigger):
UPDATE and DELETE are refused, a correction is a reversing entry (``reverses``). A deferred
constraint trigger checks at commit that every entry balances (Σ debit = Σ credit). Cash events
(disbursement, upfront fee, repayment, waiver, write-off) get one entry per loan; daily accruals of
the close get one *aggregated* entry per funder × product × business date (``loan`` empty), so a
million loans do not add a million journal rows a day — the per-loan figures live in the loan's
sub-ledger. ``reference`` is unique: posting the same event twice is refused by the database,
which makes every posting idempotent. See docs/ledger.md."""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField

__all__ = ["Account", "AccountKind", "EntryKind", "JournalEntry", "JournalLine", "ACCOUNT_NUMBERS", "LedgerCheckRun",
           "NormalSide"]


class AccountKind(models.TextChoices):
    PRINCIPAL_RECEIVABLE = "principal_receivable", _("Principal receivable")
    INTEREST_RECEIVABLE = "interest_receivable", _("Interest receivable")
    PENALTY_RECEIVABLE = "penalty_receivable", _("Penalty interest receivable")
    FEE_RECEIVABLE = "fee_receivable", _("Fee receivable")
    FEE_INCOME = "fee_income", _("Fee income")
    INTEREST_INCOME = "interest_income", _("Interest income")
    PENALTY_INCOME = "penalty_income", _("Penalty interest income")
    SETTLEMENT = "settlement", _("Settlement (cash)")
    SUSPENSE = "suspense", _("Suspense (unallocated money)")
    WRITE_OFF = "write_off", _("Write-off expense")


class NormalSide(models.TextChoices):
    DEBIT = "debit", _("Debit")
    CREDIT = "credit", _("Credit")


# Account number suffix and normal side of each kind; the number is <funder code>-<suffix>.
ACCOUNT_NUMBERS = {
    AccountKind.PRINCIPAL_RECEIVABLE: ("1301", NormalSide.DEBIT),
    AccountKind.INTEREST_RECEIVABLE: ("1302", NormalSide.DEBIT),
    AccountKind.PENALTY_RECEIVABLE: ("1303", NormalSide.DEBIT),
    AccountKind.FEE_RECEIVABLE: ("1304", NormalSide.DEBIT),
    AccountKind.SETTLEMENT: ("1002", NormalSide.DEBIT),
    AccountKind.SUSPENSE: ("2241", NormalSide.CREDIT),
    AccountKind.INTEREST_INCOME: ("6011", NormalSide.CREDIT),
    AccountKind.PENALTY_INCOME: ("6012", NormalSide.CREDIT),
    AccountKind.FEE_INCOME: ("6021", NormalSide.CREDIT),
    AccountKind.WRITE_OFF: ("6701", NormalSide.DEBIT),
}


class Account(models.Model):
    funder = models.ForeignKey("servicing.Funder", verbose_name=_("funder"), on_delete=models.PROTECT,
                               related_name="accounts")
    kind = models.CharField(_("kind"), max_length=24, choices=AccountKind.choices)
    number = models.CharField(_("account number"), max_length=48, unique=True)
    normal_side = models.CharField(_("normal side"), max_length=6, choices=NormalSide.choices)

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        ordering = ["funder__code", "number"]
        constraints = [models.UniqueConstraint(fields=["funder", "kind"], name="servicing_account_unique_kind")]

    def __str__(self):
        return f"{self.number} {self.get_kind_display()}"


class EntryKind(models.TextChoices):
    DISBURSEMENT = "disbursement", _("Disbursement")
    UPFRONT_FEE = "upfront_fee", _("Upfront fee")
    FEE = "fee", _("Installment fee due")
    ACCRUAL = "accrual", _("Interest accrual")
    PENALTY = "penalty", _("Penalty interest")
    REPAYMENT = "repayment", _("Repayment")
    REFUND = "refund", _("Refund")
    WAIVER = "waiver", _("Waiver")
    WRITE_OFF = "write_off", _("Write-off")
    REVERSAL = "reversal", _("Reversal")


_APPEND_ONLY = [
    pgtrigger.Protect(name="append_only_update", operation=pgtrigger.Update),
    pgtrigger.Protect(name="append_only_delete", operation=pgtrigger.Delete),
]


class JournalEntry(models.Model):
    reference = models.CharField(_("reference"), max_length=80, unique=True,
                                 help_text=_("The event's key: posting it twice is refused."))
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    business_date = models.DateField(_("value date"), db_index=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    funder = models.ForeignKey("servicing.Funder", verbose_name=_("funder"), on_delete=models.PROTECT,
                               related_name="+")
    product = models.ForeignKey("products.LoanProduct", verbose_name=_("product"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    loan = models.ForeignKey("servicing.Loan", verbose_name=_("loan"), null=True, blank=True,
                             on_delete=models.PROTECT, related_name="journal_entries",
                             help_text=_("Empty for an aggregated entry (daily accruals)."))
    reverses = models.OneToOneField("self", verbose_name=_("reverses"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="reversed_by")
    memo = models.CharField(_("memo"), max_length=255, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        ordering = ["-business_date", "-id"]
        triggers = _APPEND_ONLY

    def __str__(self):
        return self.reference


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="lines")
    debit = MoneyField(_("debit"), default=0)
    credit = MoneyField(_("credit"), default=0)

    class Meta:
        verbose_name = _("journal line")
        verbose_name_plural = _("journal lines")
        ordering = ["entry", "id"]
        constraints = [
            models.CheckConstraint(condition=(Q(debit__gt=0) & Q(credit=0)) | (Q(credit__gt=0) & Q(debit=0)),
                                   name="servicing_line_one_side"),
        ]
        indexes = [models.Index(fields=["account", "entry"], name="servicing_line_account")]
        triggers = [
            *_APPEND_ONLY,
            pgtrigger.Trigger(
                name="entry_balances",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                timing=pgtrigger.Deferred,
                func="""
                IF (SELECT COALESCE(SUM(debit), 0) - COALESCE(SUM(credit), 0)
                      FROM servicing_journalline WHERE entry_id = NEW.entry_id) <> 0 THEN
                    RAISE EXCEPTION 'journal entry % does not balance', NEW.entry_id
                        USING ERRCODE = 'check_violation';
                END IF;
                RETURN NULL;
                """,
            ),
        ]

    def __str__(self):
        return self.account.number


class LedgerCheckRun(models.Model):
    """One run of the full proof of the books (``servicing.services.ledger_checks``): the nightly
    task records each, so the back office and admin show when the books last agreed."""

    business_date = models.DateField(_("business date"))
    started_at = models.DateTimeField(_("started at"))
    finished_at = models.DateTimeField(_("finished at"))
    passed = models.BooleanField(_("passed"))
    difference_count = models.PositiveIntegerField(_("differences"), default=0)
    first_difference = models.CharField(_("first difference"), max_length=500, blank=True)
    differences = models.JSONField(_("differences (the first hundred)"), default=list, blank=True)

    class Meta:
        verbose_name = _("ledger check run")
        verbose_name_plural = _("ledger check runs")
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.business_date:%Y-%m-%d} {self.started_at:%H:%M}"
