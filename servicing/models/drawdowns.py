"""Drawdowns (借款/支用): a request to draw money from a credit line, carried by the
``DrawdownFlow`` through the in-loan check, funding routing, disbursement review and
disbursement to a booked loan.

The amount is reserved on the line when the drawdown is created (``line_hold`` = held), posted
as used when the disbursement is confirmed, released when it is rejected, cancelled or fails —
TigerBeetle's pending → posted / voided. Status changes go through
``creditfactory.core.state.change_state`` (``DRAWDOWN_MACHINE``)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.pii import EncryptedTextField
from creditfactory.core.state import StateMachine
from products.choices import RepaymentMethod, TermUnit

from .funding import FundingHoldStatus

__all__ = ["DRAWDOWN_MACHINE", "Drawdown", "DrawdownChannel", "DrawdownStatus", "OPEN_DRAWDOWN_STATUSES"]


class DrawdownStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    CHECKING = "checking", _("In-loan check")
    ROUTING = "routing", _("Funding routing")
    AWAITING_FUNDING = "awaiting_funding", _("Awaiting funding")
    REVIEWING = "reviewing", _("Disbursement review")
    DISBURSING = "disbursing", _("Disbursing")
    DISBURSED = "disbursed", _("Disbursed")
    REJECTED = "rejected", _("Rejected")
    CANCELLED = "cancelled", _("Cancelled")
    FAILED = "failed", _("Failed")


class DrawdownChannel(models.TextChoices):
    API = "api", _("Partner API")
    BACK_OFFICE = "back_office", _("Back office")


_D = DrawdownStatus
DRAWDOWN_MACHINE = StateMachine({
    _D.REQUESTED: frozenset({_D.CHECKING, _D.REJECTED, _D.CANCELLED}),
    _D.CHECKING: frozenset({_D.ROUTING, _D.REVIEWING, _D.REJECTED, _D.CANCELLED}),
    _D.ROUTING: frozenset({_D.AWAITING_FUNDING, _D.REVIEWING, _D.DISBURSING, _D.REJECTED, _D.CANCELLED}),
    _D.AWAITING_FUNDING: frozenset({_D.ROUTING, _D.REVIEWING, _D.DISBURSING, _D.REJECTED, _D.CANCELLED}),
    _D.REVIEWING: frozenset({_D.ROUTING, _D.DISBURSING, _D.REJECTED, _D.CANCELLED}),
    _D.DISBURSING: frozenset({_D.DISBURSED, _D.FAILED}),
})
OPEN_DRAWDOWN_STATUSES = frozenset({_D.REQUESTED, _D.CHECKING, _D.ROUTING, _D.AWAITING_FUNDING, _D.REVIEWING})


class Drawdown(TimeStampedModel):
    number = models.CharField(_("drawdown number"), max_length=32, unique=True)
    credit_line = models.ForeignKey("servicing.CreditLine", verbose_name=_("credit line"), on_delete=models.PROTECT,
                                    related_name="drawdowns")
    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("borrower"), on_delete=models.PROTECT,
                                  related_name="drawdowns")
    product_version = models.ForeignKey("products.ProductVersion", verbose_name=_("product version"),
                                        on_delete=models.PROTECT, related_name="drawdowns")
    branch = models.ForeignKey("organisations.Branch", verbose_name=_("branch"), on_delete=models.PROTECT,
                               related_name="drawdowns")
    partner = models.ForeignKey("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="drawdowns")
    channel = models.CharField(_("channel"), max_length=12, choices=DrawdownChannel.choices)
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    amount = MoneyField(_("amount"))
    term = models.PositiveIntegerField(_("term"))
    term_unit = models.CharField(_("term unit"), max_length=8, choices=TermUnit.choices)
    repayment_method = models.CharField(_("repayment method"), max_length=24, choices=RepaymentMethod.choices)
    purpose = models.CharField(_("purpose"), max_length=24)
    bank_account = EncryptedTextField(_("bank account"))
    bank_account_masked = models.CharField(_("bank account"), max_length=32, editable=False)
    external_reference = models.CharField(_("external reference"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=DrawdownStatus.choices,
                              default=DrawdownStatus.REQUESTED, db_index=True)
    line_hold = models.CharField(_("line reservation"), max_length=10, choices=FundingHoldStatus.choices,
                                 default=FundingHoldStatus.HELD)
    requested_on = models.DateField(_("requested on (business date)"))
    value_date = models.DateField(_("value date"), null=True, blank=True)
    review_required = models.BooleanField(_("disbursement review required"), default=False)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    check_outcome = models.CharField(_("in-loan check"), max_length=12, blank=True)
    check_reference = models.CharField(_("in-loan check record"), max_length=40, blank=True)
    routing = models.JSONField(_("routing explanation"), default=dict, blank=True)
    awaiting_funding_since = models.DateTimeField(_("awaiting funding since"), null=True, blank=True)
    reasons = models.JSONField(_("reasons"), default=list, blank=True,
                               help_text=_("Why it was rejected, cancelled or failed: codes with texts."))

    class Meta:
        verbose_name = _("drawdown")
        verbose_name_plural = _("drawdowns")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="servicing_drawdown_amount_positive"),
            models.UniqueConstraint(fields=["partner", "external_reference"], condition=~Q(external_reference=""),
                                    name="servicing_drawdown_unique_external_ref"),
        ]
        permissions = [
            ("review_drawdown", _("Can review drawdowns before disbursement")),
            ("cancel_drawdown", _("Can cancel drawdowns")),
            ("enter_drawdown", _("Can enter drawdowns in the back office")),
        ]

    def __str__(self):
        return self.number
