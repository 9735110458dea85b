"""Origination records carried by the flows: the credit application (授信申请).

The viewflow processes that move an application through review and approval arrive with the
origination issue; the application itself is created here so every origination records the
product version it was made under.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from creditfactory.organisations.models import Branch
from products.models import ProductVersion, Purpose, RepaymentMethod, TermUnit


__all__ = ["ApplicationStatus", "Channel", "CreditApplication"]


class ApplicationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    ASSESSING = "assessing", _("Risk assessment")
    IN_REVIEW = "in_review", _("In review")
    IN_APPROVAL = "in_approval", _("In approval")
    RETURNED = "returned", _("Returned for documents")
    SIGNING = "signing", _("Remote signing")
    CONTRACT = "contract", _("Awaiting contract acceptance")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Channel(models.TextChoices):
    BACK_OFFICE = "back_office", _("Back office")
    API = "api", _("Partner API")
    BATCH = "batch", _("Batch import")


class CreditApplication(TimeStampedModel):
    number = models.CharField(_("application number"), max_length=32, unique=True)
    product_version = models.ForeignKey(
        ProductVersion, verbose_name=_("product version"), on_delete=models.PROTECT, related_name="applications"
    )
    branch = models.ForeignKey(Branch, verbose_name=_("branch"), on_delete=models.PROTECT, related_name="applications")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.BACK_OFFICE)
    amount = MoneyField(_("amount"))
    term = models.PositiveIntegerField(_("term"))
    term_unit = models.CharField(_("term unit"), max_length=8, choices=TermUnit.choices, default=TermUnit.MONTHS)
    repayment_method = models.CharField(_("repayment method"), max_length=24, choices=RepaymentMethod.choices)
    purpose = models.CharField(_("purpose"), max_length=32, choices=Purpose.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=ApplicationStatus.choices, default=ApplicationStatus.DRAFT, db_index=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("credit application")
        verbose_name_plural = _("credit applications")
        ordering = ["-created_at"]

    def __str__(self):
        return self.number
