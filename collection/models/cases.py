"""Collection cases (催收案件) and what happens on them: the daily close opens one per overdue loan
(one open case per loan: a partial unique index the close's INSERT … ON CONFLICT relies on),
moves it through the buckets and closes it; collectors and agencies record contacts and promises
to pay; hardship holds pause contact; refusals of contacts breaking a compliance rule are logged.
Each loan's classification (五级分类) and its history live here too."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField, PercentField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.pii import EncryptedTextField, mask_value
from creditfactory.core.state import StateMachine

from .config import Agency, Classification, StrategyVersion

__all__ = [
    "AgencyAssignment", "CASE_MACHINE", "CaseStageChange", "CaseStatus", "ClassificationChange", "CloseReason",
    "CollectionCase", "ComplianceRefusal", "ComplianceRule", "Contact", "ContactChannel", "ContactParty",
    "ContactResult", "EmergencyContact", "HARDSHIP_MACHINE", "HardshipHold", "HardshipStatus", "LoanClass", "PROMISE_MACHINE",
    "Promise", "PromiseStatus",
]


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class CloseReason(models.TextChoices):
    CURED = "cured", _("Current again")
    PAID_OFF = "paid_off", _("Paid off")
    WRITTEN_OFF = "written_off", _("Written off")


CASE_MACHINE = StateMachine({"": frozenset({CaseStatus.OPEN}), CaseStatus.OPEN: frozenset({CaseStatus.CLOSED})})


class CollectionCase(TimeStampedModel):
    loan = models.ForeignKey("servicing.Loan", verbose_name=_("loan"), on_delete=models.PROTECT,
                             related_name="collection_cases")
    status = models.CharField(_("status"), max_length=8, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    bucket = models.CharField(_("bucket"), max_length=8)
    step = models.PositiveSmallIntegerField(_("strategy step"), default=0,
                                            help_text=_("The position of the action in force in the strategy."))
    step_since = models.DateField(_("step since"), null=True, blank=True)
    strategy_version = models.ForeignKey(StrategyVersion, verbose_name=_("strategy version"), null=True,
                                         blank=True, on_delete=models.PROTECT, related_name="cases")
    opened_on = models.DateField(_("opened on"))
    dpd_at_open = models.PositiveIntegerField(_("DPD when opened"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    close_reason = models.CharField(_("closed because"), max_length=12, choices=CloseReason.choices, blank=True)
    work_group = models.ForeignKey("organisations.WorkGroup", verbose_name=_("work group"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="collection_cases")
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("collector"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="collection_cases")
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="cases")

    class Meta:
        verbose_name = _("collection case")
        verbose_name_plural = _("collection cases")
        ordering = ["-opened_on", "-id"]
        permissions = [("work_on_cases", _("Can work on collection cases (contacts, promises)")),
                       ("reassign_collectioncase", _("Can reassign collection cases")),
                       ("view_collection_figures", _("Can view collection figures"))]
        constraints = [models.UniqueConstraint(fields=["loan"], condition=Q(status="open"),
                                               name="collections_one_open_case_per_loan")]
        indexes = [models.Index(fields=["status", "bucket"], name="collections_case_status_bucket"),
                   models.Index(fields=["agency", "status"], name="collections_case_agency"),
                   models.Index(fields=["closed_on"], name="collections_case_closed_on")]

    def __str__(self):
        return f"#{self.pk}"


class CaseStageChange(models.Model):
    """History of a case's bucket and step (written by the close, a broken promise, a lead)."""

    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.CASCADE,
                             related_name="stage_changes")
    business_date = models.DateField(_("business date"))
    from_bucket = models.CharField(_("from bucket"), max_length=8, blank=True)
    to_bucket = models.CharField(_("to bucket"), max_length=8)
    from_step = models.SmallIntegerField(_("from step"), null=True, blank=True)
    to_step = models.SmallIntegerField(_("to step"))
    dpd = models.PositiveIntegerField(_("DPD"))
    owed = MoneyField(_("owed"), default=0,
                      help_text=_("What the loan owed then: principal, interest, penalty and fee."))
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("case stage change")
        verbose_name_plural = _("case stage changes")
        ordering = ["case", "at", "id"]
        indexes = [models.Index(fields=["business_date"], name="collections_stage_change_date")]


class AgencyAssignment(models.Model):
    """A period a case was an agency's: commission is earned on what the borrower repaid from
    ``start`` up to the day before ``end`` (open-ended while it lasts)."""

    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.CASCADE,
                             related_name="agency_assignments")
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), on_delete=models.PROTECT,
                               related_name="assignments")
    commission_percent = PercentField(_("commission (%)"))
    start = models.DateField(_("from"))
    end = models.DateField(_("until (excluded)"), null=True, blank=True)

    class Meta:
        verbose_name = _("agency assignment")
        verbose_name_plural = _("agency assignments")
        ordering = ["case", "start", "id"]
        constraints = [models.UniqueConstraint(fields=["case"], condition=Q(end__isnull=True),
                                               name="collections_one_current_agency")]


class LoanClass(models.Model):
    """A loan's current classification, when it was ever other than normal (no row: normal)."""

    loan = models.OneToOneField("servicing.Loan", verbose_name=_("loan"), on_delete=models.CASCADE,
                                related_name="collection_class", primary_key=True)
    classification = models.CharField(_("classification"), max_length=16, choices=Classification.choices)
    since = models.DateField(_("since"))

    class Meta:
        verbose_name = _("loan classification")
        verbose_name_plural = _("loan classifications")


class ClassificationChange(models.Model):
    loan = models.ForeignKey("servicing.Loan", verbose_name=_("loan"), on_delete=models.CASCADE,
                             related_name="classification_changes")
    business_date = models.DateField(_("business date"))
    from_class = models.CharField(_("from"), max_length=16, choices=Classification.choices)
    to_class = models.CharField(_("to"), max_length=16, choices=Classification.choices)
    dpd = models.PositiveIntegerField(_("DPD"))

    class Meta:
        verbose_name = _("classification change")
        verbose_name_plural = _("classification changes")
        ordering = ["loan", "business_date", "id"]
        constraints = [models.UniqueConstraint(fields=["loan", "business_date"],
                                               name="collections_one_class_change_a_day")]


class EmergencyContact(TimeStampedModel):
    """The borrower's registered emergency contact (紧急联系人): the only third party a collector
    may contact. The mobile is encrypted at rest, shown masked."""

    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("borrower"), on_delete=models.CASCADE,
                                  related_name="emergency_contacts")
    name = models.CharField(_("name"), max_length=100)
    relation = models.CharField(_("relation"), max_length=40)
    mobile = EncryptedTextField(_("mobile"))
    mobile_masked = models.CharField(_("mobile"), max_length=32, editable=False)

    class Meta:
        verbose_name = _("emergency contact")
        verbose_name_plural = _("emergency contacts")
        ordering = ["applicant", "id"]

    def __str__(self):
        return f"{self.name} ({self.mobile_masked})"

    def save(self, *args, **kwargs):
        self.mobile_masked = mask_value("mobile", self.mobile) if self.mobile else ""
        super().save(*args, **kwargs)


class ContactChannel(models.TextChoices):
    CALL = "call", _("Phone call")
    SMS = "sms", _("SMS")
    VOICE = "voice", _("Voice robot")
    VISIT = "visit", _("Field visit")
    LETTER = "letter", _("Letter")


class ContactParty(models.TextChoices):
    BORROWER = "borrower", _("Borrower")
    EMERGENCY_CONTACT = "emergency_contact", _("Registered emergency contact")
    OTHER = "other", _("Another third party")


class ContactResult(models.TextChoices):
    REACHED = "reached", _("Reached")
    NO_ANSWER = "no_answer", _("No answer")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    PROMISED = "promised", _("Promised to pay")
    REFUSED = "refused", _("Refused to pay")
    SENT = "sent", _("Sent")
    CALLING = "calling", _("Calling (voice robot)")
    FAILED = "failed", _("Not connected")


class Contact(TimeStampedModel):
    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="contacts")
    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("borrower"), on_delete=models.PROTECT,
                                  related_name="collection_contacts")
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    party = models.CharField(_("contacted"), max_length=20, choices=ContactParty.choices,
                             default=ContactParty.BORROWER)
    emergency_contact = models.ForeignKey(EmergencyContact, verbose_name=_("emergency contact"), null=True,
                                          blank=True, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(_("result"), max_length=16, choices=ContactResult.choices)
    notes = models.TextField(_("notes"), blank=True)
    at = models.DateTimeField(_("at"))
    local_date = models.DateField(_("day (local)"), help_text=_("The day in the policy's time zone."))
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("collector"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="contacts")

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["applicant", "local_date"], name="collections_contact_day")]


class ComplianceRule(models.TextChoices):
    CONTACT_HOURS = "contact_hours", _("Contact hours")
    DAILY_LIMIT = "daily_limit", _("Contacts per borrower per day")
    THIRD_PARTY = "third_party", _("Third parties: only the registered emergency contact")
    HARDSHIP = "hardship", _("No contact under a hardship hold")
    CASE_CLOSED = "case_closed", _("The case is closed")


class ComplianceRefusal(models.Model):
    """A contact the system refused to send or record, with the rule it broke."""

    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="refusals")
    rule = models.CharField(_("rule"), max_length=16, choices=ComplianceRule.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=ContactChannel.choices)
    party = models.CharField(_("contacted"), max_length=20, choices=ContactParty.choices)
    at = models.DateTimeField(_("at"))
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("collector"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")

    class Meta:
        verbose_name = _("compliance refusal")
        verbose_name_plural = _("compliance refusals")
        ordering = ["-at", "-id"]


class PromiseStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    KEPT = "kept", _("Kept")
    BROKEN = "broken", _("Broken")


PROMISE_MACHINE = StateMachine({"": frozenset({PromiseStatus.PENDING}),
                                PromiseStatus.PENDING: frozenset({PromiseStatus.KEPT, PromiseStatus.BROKEN})})


class Promise(TimeStampedModel):
    """A promise to pay (承诺还款): kept when the borrower repaid ``amount`` from the day it was
    made through ``due_on``; else broken at the close of ``due_on`` and the case escalates a step."""

    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="promises")
    amount = MoneyField(_("amount"))
    made_on = models.DateField(_("made on"), help_text=_("Business date."))
    due_on = models.DateField(_("to pay by"))
    status = models.CharField(_("status"), max_length=8, choices=PromiseStatus.choices,
                              default=PromiseStatus.PENDING)
    paid = MoneyField(_("paid by then"), default=0)
    contact = models.ForeignKey(Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.PROTECT,
                                related_name="promises")
    collector = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("collector"), null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="promises")

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        ordering = ["-made_on", "-id"]
        indexes = [models.Index(fields=["status", "due_on"], name="collections_promise_due")]


class HardshipStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


HARDSHIP_MACHINE = StateMachine({"": frozenset({HardshipStatus.REQUESTED}),
                                 HardshipStatus.REQUESTED: frozenset({HardshipStatus.APPROVED,
                                                                      HardshipStatus.REJECTED})})


class HardshipHold(TimeStampedModel):
    """A hardship request (困难申请): once approved, no contact of the borrower from ``start``
    through ``end`` (business dates)."""

    case = models.ForeignKey(CollectionCase, verbose_name=_("case"), on_delete=models.PROTECT,
                             related_name="hardship_holds")
    applicant = models.ForeignKey("risk.Applicant", verbose_name=_("borrower"), on_delete=models.PROTECT,
                                  related_name="hardship_holds")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=HardshipStatus.choices,
                              default=HardshipStatus.REQUESTED)
    start = models.DateField(_("from"), null=True, blank=True)
    end = models.DateField(_("through"), null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("hardship hold")
        verbose_name_plural = _("hardship holds")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_hardshiphold", _("Can approve hardship holds"))]
