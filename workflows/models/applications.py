"""Origination records carried by the credit flow: the credit application (授信申请), its
documents, and the audit rows of deliberate PII reveals in the back office.

The application row exists before its viewflow process (``process``); the flow keeps
``status`` in step with itself through ``creditfactory.core.state.change_state`` using
``APPLICATION_MACHINE``, so every move is logged (who, when, from, to, why).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.state import StateMachine
from creditfactory.organisations.models import Branch
from products.models import ProductVersion, Purpose, RepaymentMethod, TermUnit


__all__ = [
    "APPLICATION_MACHINE",
    "ApplicationDocument",
    "ApprovalMode",
    "ApplicationStatus",
    "Channel",
    "CLOSED_STATUSES",
    "ContractSigning",
    "CreditApplication",
    "DocumentKind",
    "PiiField",
    "PiiReveal",
]


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


S = ApplicationStatus
# Where an application may go next. APPROVED, REJECTED and WITHDRAWN are final: APPROVED means
# the credit line was granted.
APPLICATION_MACHINE = StateMachine({
    S.DRAFT: frozenset({S.SUBMITTED, S.WITHDRAWN}),
    S.SUBMITTED: frozenset({S.ASSESSING, S.WITHDRAWN}),
    S.ASSESSING: frozenset({S.IN_REVIEW, S.REJECTED, S.SIGNING, S.CONTRACT, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.IN_APPROVAL, S.RETURNED, S.REJECTED, S.SIGNING, S.CONTRACT, S.WITHDRAWN}),
    S.IN_APPROVAL: frozenset({S.RETURNED, S.REJECTED, S.SIGNING, S.CONTRACT, S.WITHDRAWN}),
    S.RETURNED: frozenset({S.IN_REVIEW, S.IN_APPROVAL, S.WITHDRAWN}),
    S.SIGNING: frozenset({S.CONTRACT, S.WITHDRAWN}),
    S.CONTRACT: frozenset({S.APPROVED, S.WITHDRAWN}),
})
CLOSED_STATUSES = (S.APPROVED, S.REJECTED, S.WITHDRAWN)
del S


class ApprovalMode(models.TextChoices):
    STRAIGHT_THROUGH = "straight_through", _("Straight through (automated)")
    REVIEW = "review", _("By the reviewer")
    APPROVAL = "approval", _("By the approver")


class Channel(models.TextChoices):
    BACK_OFFICE = "back_office", _("Back office")
    API = "api", _("Partner API")
    BATCH = "batch", _("Batch import")


class ContractSigning(models.TextChoices):
    """How the applicant signed the credit contract (合同签署方式)."""

    BRANCH = "branch", _("At the branch")
    E_SIGNATURE = "e_signature", _("E-signature")
    REMOTE_SESSION = "remote_session", _("At the remote-signing session")
    PARTNER_API = "partner_api", _("Through the partner's channel")


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
    applicant = models.ForeignKey(
        "risk.Applicant", verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="applications"
    )
    enterprise = models.ForeignKey(
        "risk.Enterprise", verbose_name=_("enterprise"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="applications",
    )
    device_id = models.CharField(
        _("device ID"), max_length=128, blank=True,
        help_text=_("Device fingerprint from the channel, checked against the fraud lists."),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("entered by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    # --- origination (the credit flow) ---
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="applications", help_text=_("The channel that sent the application; it receives the webhooks."),
    )
    external_reference = models.CharField(
        _("partner reference"), max_length=64, blank=True, help_text=_("The partner's own id of the application.")
    )
    consents = models.JSONField(
        _("consents"), default=dict, blank=True,
        help_text=_("What the applicant agreed to, e.g. {\"credit_report\": true, \"personal_information\": true}."),
    )
    process = models.OneToOneField(
        "viewflow.Process", verbose_name=_("process"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="credit_application", editable=False,
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_at = models.DateTimeField(_("automated decision at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved by"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text=_("Who gave the final approval; empty for a straight-through approval."),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    approval_mode = models.CharField(
        _("approved"), max_length=16, choices=ApprovalMode.choices, blank=True,
        help_text=_("How it was approved; straight-through approvals are sampled for quality inspection."),
    )
    contract_accepted_at = models.DateTimeField(_("contract accepted at"), null=True, blank=True)
    contract_signing = models.CharField(_("contract signed"), max_length=16, choices=ContractSigning.choices,
                                        blank=True)
    contract_reference = models.CharField(
        _("contract reference"), max_length=64, blank=True,
        help_text=_("The signed contract's number, the e-signature envelope or the signing session's reference."),
    )
    contract_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("contract acceptance recorded by"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("credit application")
        verbose_name_plural = _("credit applications")
        ordering = ["-created_at"]
        permissions = [("record_contract_acceptance", _("Can record a contract acceptance for the applicant"))]
        indexes = [
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["partner", "created_at"]),
            models.Index(fields=["approval_mode", "approved_at"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_reference"],
                                    condition=Q(partner__isnull=False) & ~Q(external_reference=""),
                                    name="workflows_application_partner_reference"),
        ]

    def __str__(self):
        return self.number

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    @staticmethod
    def provisional_number() -> str:
        """A unique placeholder until the row has its id (see ``application_number``)."""
        return f"TMP{uuid.uuid4().hex[:20]}"

    def application_number(self) -> str:
        """CA + local creation date + the zero-padded id: unique, sortable, readable on the phone."""
        day = timezone.localtime(self.created_at) if self.created_at else timezone.localtime()
        return f"CA{day:%Y%m%d}{self.pk:08d}"


class DocumentKind(models.TextChoices):
    ID_CARD = "id_card", _("Resident ID card")
    INCOME_PROOF = "income_proof", _("Proof of income")
    BANK_STATEMENT = "bank_statement", _("Bank statement")
    BUSINESS_LICENSE = "business_license", _("Business licence")
    PROPERTY = "property", _("Property or purchase documents")
    CONTRACT = "contract", _("Signed contract")
    OTHER = "other", _("Other")


def document_upload_to(instance, filename: str) -> str:
    # A random name: the original may carry the applicant's name or ID number.
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"applications/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{suffix[:8]}"


class ApplicationDocument(models.Model):
    """A file attached to an application (uploaded by the channel or an officer)."""

    application = models.ForeignKey(CreditApplication, verbose_name=_("application"), on_delete=models.PROTECT,
                                    related_name="documents")
    kind = models.CharField(_("kind"), max_length=24, choices=DocumentKind.choices, default=DocumentKind.OTHER)
    file = models.FileField(_("file"), upload_to=document_upload_to, max_length=255)
    name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    note = models.CharField(_("note"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    uploaded_by_label = models.CharField(_("uploaded by (system or partner)"), max_length=150, blank=True)
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("application document")
        verbose_name_plural = _("application documents")
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.application} · {self.get_kind_display()} · {self.name}"


class PiiField(models.TextChoices):
    ID_NUMBER = "id_number", _("Resident ID number")
    MOBILE = "mobile", _("Mobile")
    BANK_ACCOUNT = "bank_account", _("Bank account")


class PiiReveal(models.Model):
    """Audit row of one deliberate reveal of an unmasked identifier in the back office."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT,
                             related_name="+")
    application = models.ForeignKey(CreditApplication, verbose_name=_("application"), on_delete=models.PROTECT,
                                    related_name="pii_reveals")
    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("applicant"), on_delete=models.PROTECT,
                                  related_name="+")
    field = models.CharField(_("field"), max_length=16, choices=PiiField.choices)
    reason = models.TextField(_("reason"))
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("PII reveal")
        verbose_name_plural = _("PII reveals")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.user} · {self.application} · {self.field}"
