"""The payment channel (支付通道) and disbursements (放款).

``PaymentChannel`` is configured like a data source (provider, latency, failure rate, cost per
transaction, callback secret). One ``Disbursement`` per drawdown: its ``reference`` is unique
and is the channel's idempotency key, so sending again, replaying a callback or retrying a task
never pays twice. Each exchange with the channel (send, callback, status query) is a
``DisbursementEvent``."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.state import StateMachine

__all__ = [
    "DISBURSEMENT_MACHINE", "Disbursement", "DisbursementEvent", "DisbursementEventKind", "DisbursementStatus",
    "PaymentChannel", "PaymentProvider", "SandboxBankTransfer",
]


class PaymentProvider(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox (simulated bank)")


class PaymentChannel(TimeStampedModel):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    provider = models.CharField(_("provider"), max_length=16, choices=PaymentProvider.choices,
                                default=PaymentProvider.SANDBOX)
    latency_ms = models.PositiveIntegerField(_("latency (ms)"), default=0)
    failure_rate_percent = models.DecimalField(_("failure rate (%)"), max_digits=5, decimal_places=2, default=0)
    cost_per_transaction = MoneyField(_("cost per transaction"), default=0)
    callback_secret = models.CharField(_("callback secret"), max_length=128,
                                       help_text=_("Shared with the channel to sign callbacks (HMAC-SHA256)."))
    confirm_timeout_seconds = models.PositiveIntegerField(
        _("callback timeout (s)"), default=300, help_text=_("After this, the channel is asked for the status."))
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("payment channel")
        verbose_name_plural = _("payment channels")
        ordering = ["code"]

    def __str__(self):
        return self.name


class DisbursementStatus(models.TextChoices):
    PREPARED = "prepared", _("Prepared")
    SENT = "sent", _("Sent, awaiting confirmation")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


_S = DisbursementStatus
DISBURSEMENT_MACHINE = StateMachine({
    _S.PREPARED: frozenset({_S.SENT, _S.PAID, _S.FAILED}),
    _S.SENT: frozenset({_S.PAID, _S.FAILED}),
})


class Disbursement(TimeStampedModel):
    drawdown = models.OneToOneField("servicing.Drawdown", verbose_name=_("drawdown"), on_delete=models.PROTECT,
                                    related_name="disbursement")
    channel = models.ForeignKey(PaymentChannel, verbose_name=_("payment channel"), on_delete=models.PROTECT,
                                related_name="disbursements")
    reference = models.CharField(_("disbursement reference"), max_length=40, unique=True)
    amount = MoneyField(_("amount"))
    status = models.CharField(_("status"), max_length=10, choices=DisbursementStatus.choices,
                              default=DisbursementStatus.PREPARED, db_index=True)
    channel_reference = models.CharField(_("channel's reference"), max_length=64, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    cost = MoneyField(_("channel fee"), default=0)
    failure_code = models.CharField(_("failure code"), max_length=40, blank=True)
    failure_message = models.CharField(_("failure"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.reference


class DisbursementEventKind(models.TextChoices):
    SENT = "sent", _("Sent to the channel")
    SEND_FAILED = "send_failed", _("Sending failed")
    CALLBACK = "callback", _("Callback")
    CALLBACK_REFUSED = "callback_refused", _("Callback refused (signature)")
    QUERY = "query", _("Status query")


class DisbursementEvent(models.Model):
    disbursement = models.ForeignKey(Disbursement, verbose_name=_("disbursement"), null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=DisbursementEventKind.choices)
    at = models.DateTimeField(_("at"), auto_now_add=True)
    result = models.CharField(_("result"), max_length=20, blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    duplicate = models.BooleanField(_("duplicate"), default=False,
                                    help_text=_("A replay: nothing changed."))

    RESULT_LABELS = {
        "accepted": _("accepted"),
        "duplicate": _("already received (nothing paid twice)"),
        "timeout": _("no answer in time"),
        "unavailable": _("channel unavailable"),
        "refused": _("refused"),
        "paid": _("paid"),
        "failed": _("failed"),
        "pending": _("still pending"),
        "unknown": _("not received by the channel"),
        "signature": _("invalid signature"),
        "timestamp": _("stale timestamp"),
    }

    @property
    def result_display(self) -> str:
        """The result in the reader's language (``result`` holds a code)."""
        return str(self.RESULT_LABELS.get(self.result, ""))

    class Meta:
        verbose_name = _("disbursement event")
        verbose_name_plural = _("disbursement events")
        ordering = ["at", "id"]


class SandboxBankTransfer(models.Model):
    """The sandbox bank's own book (``servicing.channels.sandbox``): one row per payment reference
    it received — a resend with the same reference finds it and pays nothing more, as a real bank
    dedupes by the idempotency key. ``received`` counts how often the reference was sent."""

    channel = models.ForeignKey(PaymentChannel, verbose_name=_("payment channel"), on_delete=models.CASCADE,
                                related_name="+")
    reference = models.CharField(_("disbursement reference"), max_length=40, unique=True)
    bank_reference = models.CharField(_("channel's reference"), max_length=64, unique=True)
    amount = MoneyField(_("amount"))
    account_suffix = models.CharField(_("account (last four digits)"), max_length=4)
    outcome = models.CharField(_("outcome"), max_length=10)  # paid | failed
    direction = models.CharField(_("direction"), max_length=8, default="payout")  # payout | debit
    settled_amount = MoneyField(_("amount settled"), null=True, blank=True,
                                help_text=_("A debit: what the bank collected (may be less than asked)."))
    calls_back = models.BooleanField(_("calls back"), default=True)
    received = models.PositiveIntegerField(_("times received"), default=1)
    callback_sent_at = models.DateTimeField(_("callback sent at"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        verbose_name = _("sandbox bank transfer")
        verbose_name_plural = _("sandbox bank transfers")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.reference
