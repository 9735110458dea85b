"""Repayments (还款) of a loan, refunds of its credit balance and scheduled debits (代扣).

A ``Repayment`` is one receipt of money for a loan: from a partner's API call, an officer's
registration of a bank transfer (posted only once a second person verifies it — maker-checker),
the payment channel's scheduled debit, or the loan's own credit balance applied when an
installment falls due. It records how it was allocated (principal, interest, penalty, fee,
prepayment fee, and what went to the credit balance). ``reference`` is unique per loan, so the
same payment posted twice is posted once. See docs/servicing.md."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.state import StateMachine

__all__ = [
    "COLLECTION_MACHINE", "REFUND_MACHINE", "REPAYMENT_MACHINE", "CollectionDebit", "CollectionDebitStatus",
    "CreditBalanceRefund", "RefundStatus", "Repayment", "RepaymentKind", "RepaymentSource", "RepaymentStatus",
]


class RepaymentKind(models.TextChoices):
    REGULAR = "regular", _("Regular repayment")
    PAYOFF = "payoff", _("Full early repayment (提前结清)")
    PREPAYMENT = "prepayment", _("Partial early repayment (提前还款)")


class RepaymentSource(models.TextChoices):
    API = "api", _("Partner API")
    BACKOFFICE = "backoffice", _("Bank transfer registered by an officer")
    COLLECTION = "collection", _("Scheduled debit (代扣)")
    CREDIT_BALANCE = "credit_balance", _("Credit balance applied")


class RepaymentStatus(models.TextChoices):
    PENDING_VERIFICATION = "pending_verification", _("Awaiting verification")
    POSTED = "posted", _("Posted")
    REJECTED = "rejected", _("Rejected")


_R = RepaymentStatus
REPAYMENT_MACHINE = StateMachine({
    "": frozenset({_R.PENDING_VERIFICATION, _R.POSTED}),
    _R.PENDING_VERIFICATION: frozenset({_R.POSTED, _R.REJECTED}),
})


class Repayment(TimeStampedModel):
    loan = models.ForeignKey("servicing.Loan", verbose_name=_("loan"), on_delete=models.PROTECT,
                             related_name="repayments")
    number = models.CharField(_("repayment number"), max_length=32, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=RepaymentKind.choices, default=RepaymentKind.REGULAR)
    source = models.CharField(_("source"), max_length=16, choices=RepaymentSource.choices)
    amount = MoneyField(_("amount"))
    requested_principal = MoneyField(_("principal to prepay"), null=True, blank=True)
    value_date = models.DateField(_("value date"), null=True, blank=True,
                                  help_text=_("The business date it was posted on."))
    reference = models.CharField(_("reference"), max_length=80,
                                 help_text=_("The payer's reference: the same reference is posted once per loan."))
    status = models.CharField(_("status"), max_length=24, choices=RepaymentStatus.choices, db_index=True)
    principal = MoneyField(_("principal"), default=0)
    interest = MoneyField(_("interest"), default=0)
    penalty = MoneyField(_("penalty interest"), default=0)
    fee = MoneyField(_("fee"), default=0)
    prepayment_fee = MoneyField(_("prepayment fee"), default=0)
    credit_balance = MoneyField(_("to credit balance"), default=0,
                                help_text=_("Money beyond what was payable, held for the borrower."))
    note = models.CharField(_("note"), max_length=255, blank=True)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    verified_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("verified by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "reference"], name="servicing_repayment_reference_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="servicing_repayment_amount_positive"),
        ]
        indexes = [models.Index(fields=["loan", "value_date", "id"], name="servicing_repayment_loan_date")]
        permissions = [
            ("register_repayment", _("Can register offline repayments (bank transfers)")),
            ("verify_repayment", _("Can verify offline repayments")),
        ]

    def __str__(self):
        return self.number


class RefundStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting approval")
    PAID = "paid", _("Refunded")
    REJECTED = "rejected", _("Rejected")


_F = RefundStatus
REFUND_MACHINE = StateMachine({
    "": frozenset({_F.REQUESTED}),
    _F.REQUESTED: frozenset({_F.PAID, _F.REJECTED}),
})


class CreditBalanceRefund(TimeStampedModel):
    """A refund of (part of) a loan's credit balance to the borrower: requested by one officer,
    approved by another (four-eyes) before the money leaves."""

    loan = models.ForeignKey("servicing.Loan", verbose_name=_("loan"), on_delete=models.PROTECT,
                             related_name="refunds")
    number = models.CharField(_("refund number"), max_length=32, unique=True)
    amount = MoneyField(_("amount"))
    reason = models.CharField(_("reason"), max_length=255)
    status = models.CharField(_("status"), max_length=12, choices=RefundStatus.choices, db_index=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    value_date = models.DateField(_("value date"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit balance refund")
        verbose_name_plural = _("credit balance refunds")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="servicing_refund_amount_positive")]
        permissions = [
            ("request_refund", _("Can request refunds of credit balances")),
            ("approve_refund", _("Can approve refunds of credit balances")),
        ]

    def __str__(self):
        return self.number


class CollectionDebitStatus(models.TextChoices):
    SENT = "sent", _("Sent to the channel")
    PAID = "paid", _("Collected")
    PARTIAL = "partial", _("Partly collected")
    FAILED = "failed", _("Failed")


_D = CollectionDebitStatus
COLLECTION_MACHINE = StateMachine({
    "": frozenset({_D.SENT, _D.FAILED}),
    _D.SENT: frozenset({_D.PAID, _D.PARTIAL, _D.FAILED}),
})


class CollectionDebit(TimeStampedModel):
    """One scheduled debit (代扣) of the borrower's account through the payment channel: what was
    asked on a business date (``attempt`` counts the tries of that date's debit), what the
    channel's signed callback says was collected, and the repayment that posted it. ``reference``
    is the channel's idempotency key."""

    loan = models.ForeignKey("servicing.Loan", verbose_name=_("loan"), on_delete=models.PROTECT,
                             related_name="collection_debits")
    channel = models.ForeignKey("servicing.PaymentChannel", verbose_name=_("payment channel"),
                                on_delete=models.PROTECT, related_name="+")
    reference = models.CharField(_("debit reference"), max_length=40, unique=True)
    business_date = models.DateField(_("business date"))
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)
    amount = MoneyField(_("amount asked"))
    collected = MoneyField(_("amount collected"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=CollectionDebitStatus.choices, db_index=True)
    failure_code = models.CharField(_("failure code"), max_length=40, blank=True)
    failure_message = models.CharField(_("failure"), max_length=255, blank=True)
    repayment = models.OneToOneField(Repayment, verbose_name=_("repayment"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="collection_debit")

    class Meta:
        verbose_name = _("scheduled debit")
        verbose_name_plural = _("scheduled debits")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["loan", "business_date", "attempt"],
                                               name="servicing_debit_unique_attempt")]

    def __str__(self):
        return self.reference
