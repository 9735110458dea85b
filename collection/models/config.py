"""What a lender configures in admin: DPD buckets, collection strategies (versioned like the risk
rule sets: a case records the version it ran under), loan-classification thresholds (五级分类),
the compliance policy and the collection agencies (委外).

Defaults are seeded by the migrations (docs/collections.md): they are the lender's policy to
confirm, not law."""

import datetime

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import PercentField
from creditfactory.core.models import TimeStampedModel
from risk.models.versioning import PublishedVersion, WorkingCopy

__all__ = [
    "ActionKind", "Agency", "Bucket", "Classification", "ClassificationThreshold", "CollectionStrategy",
    "CompliancePolicy", "StrategyAction", "StrategyStep", "StrategyVersion", "WorkbenchPriority",
]


class Bucket(models.Model):
    """A band of days past due (M0 … M3+). ``min_dpd`` ≤ DPD ≤ ``max_dpd`` (no upper end when
    empty); M0 is the band before the due date (−3 … 0: due within 3 days): no case is open in it."""

    code = models.SlugField(_("code"), max_length=8, unique=True, allow_unicode=False,
                            help_text=_("Shown in reports and the API, e.g. M1."))
    name = models.CharField(_("name"), max_length=60)
    min_dpd = models.IntegerField(_("from DPD"), help_text=_("Negative: days before the due date."))
    max_dpd = models.IntegerField(_("to DPD"), null=True, blank=True, help_text=_("Empty: no upper end."))

    class Meta:
        verbose_name = _("DPD bucket")
        verbose_name_plural = _("DPD buckets")
        ordering = ["min_dpd"]

    def __str__(self):
        return self.code

    def clean(self):
        if self.max_dpd is not None and self.max_dpd < self.min_dpd:
            raise ValidationError({"max_dpd": _("The upper end is below the lower end.")})


class Classification(models.TextChoices):
    """Loan classification (五级分类), from the best to the worst."""

    NORMAL = "normal", _("Normal (正常)")
    SPECIAL_MENTION = "special_mention", _("Special mention (关注)")
    SUBSTANDARD = "substandard", _("Substandard (次级)")
    DOUBTFUL = "doubtful", _("Doubtful (可疑)")
    LOSS = "loss", _("Loss (损失)")


class ClassificationThreshold(models.Model):
    """A loan is in the worst class whose ``min_dpd`` its DPD reaches (defaults 0, 1, 91, 271, 361)."""

    classification = models.CharField(_("classification"), max_length=16, choices=Classification.choices,
                                      unique=True)
    min_dpd = models.PositiveIntegerField(_("from DPD"))

    class Meta:
        verbose_name = _("classification threshold")
        verbose_name_plural = _("classification thresholds")
        ordering = ["min_dpd"]

    def __str__(self):
        return f"{self.get_classification_display()} ≥ {self.min_dpd}"

    def clean(self):
        # A current loan is normal (the close relies on it: it classifies only loans past due).
        if (self.classification == Classification.NORMAL) != (self.min_dpd == 0):
            raise ValidationError({"min_dpd": _("Normal starts at 0 days past due; every other class at 1 or more.")})


class Agency(TimeStampedModel):
    """A collection agency (委外催收机构): a partner of a kind — with ``partner`` it reaches the
    partner API and sees only the cases assigned to it."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    partner = models.OneToOneField("partners.Partner", verbose_name=_("partner"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="collection_agency",
                                   help_text=_("The partner account the agency uses for the API."))
    commission_percent = PercentField(_("default commission (%)"), default=0,
                                      validators=[MinValueValidator(0), MaxValueValidator(100)])
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("collection agency")
        verbose_name_plural = _("collection agencies")
        ordering = ["code"]

    def __str__(self):
        return self.name


class ActionKind(models.TextChoices):
    SMS = "sms", _("Automated reminder: SMS")
    VOICE = "voice", _("Automated reminder: voice robot")
    CALL = "call", _("Call task for a work group")
    VISIT = "visit", _("Field visit")
    AGENCY = "agency", _("Outsourcing to an agency (委外)")
    LEGAL = "legal", _("Legal referral")


class CollectionStrategy(WorkingCopy):
    """The working copy of a strategy: per product (or the default for every product without its
    own), an ordered list of actions per bucket. Cases use its ``current_version``."""

    product = models.OneToOneField("products.LoanProduct", verbose_name=_("product"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="collection_strategy",
                                   help_text=_("Empty: the default for products without their own strategy."))
    current_version = models.ForeignKey("StrategyVersion", verbose_name=_("current version"), null=True,
                                        blank=True, on_delete=models.PROTECT, related_name="+", editable=False)

    class Meta(WorkingCopy.Meta):
        verbose_name = _("collection strategy")
        verbose_name_plural = _("collection strategies")
        permissions = [("publish_collectionstrategy", _("Can publish collection strategies"))]
        constraints = [models.UniqueConstraint(fields=["product"], condition=models.Q(product__isnull=True),
                                               name="collections_one_default_strategy")]

    def definition(self) -> dict:
        actions = sorted(self.actions.all(), key=lambda a: (a.from_dpd, a.order, a.pk or 0))
        return {"code": self.code, "name": self.name, "product": self.product.code if self.product_id else None,
                "actions": [action.spec() for action in actions]}


class StrategyAction(models.Model):
    """One action of a strategy: from ``from_dpd`` days past due (within its bucket), every
    ``cadence_days`` days until the next action takes over."""

    strategy = models.ForeignKey(CollectionStrategy, verbose_name=_("strategy"), on_delete=models.CASCADE,
                                 related_name="actions")
    bucket = models.ForeignKey(Bucket, verbose_name=_("bucket"), on_delete=models.PROTECT, related_name="+")
    from_dpd = models.PositiveIntegerField(_("from DPD"), validators=[MinValueValidator(1)])
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    kind = models.CharField(_("action"), max_length=8, choices=ActionKind.choices)
    template = models.CharField(_("message template"), max_length=60, blank=True,
                                help_text=_("SMS or voice template code (reminders)."))
    work_group = models.ForeignKey("organisations.WorkGroup", verbose_name=_("work group"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+")
    commission_percent = PercentField(_("commission (%)"), null=True, blank=True,
                                      validators=[MinValueValidator(0), MaxValueValidator(100)],
                                      help_text=_("Empty: the agency's default."))
    cadence_days = models.PositiveSmallIntegerField(_("every N days"), default=1, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("strategy action")
        verbose_name_plural = _("strategy actions")
        ordering = ["strategy", "from_dpd", "order"]

    def __str__(self):
        return f"{self.get_kind_display()} ≥ {self.from_dpd}"

    def clean(self):
        errors = {}
        if self.bucket_id and (self.from_dpd < self.bucket.min_dpd
                               or (self.bucket.max_dpd is not None and self.from_dpd > self.bucket.max_dpd)):
            errors["from_dpd"] = _("The DPD is outside the bucket.")
        if self.kind in (ActionKind.SMS, ActionKind.VOICE) and not self.template:
            errors["template"] = _("A reminder needs its template.")
        elif self.kind in (ActionKind.SMS, ActionKind.VOICE):
            from creditfactory.core.messaging.templates import SMS_TEMPLATES

            from ..services import reminders  # noqa: F401 - registers the collection templates

            channel = "sms" if self.kind == ActionKind.SMS else "voice"
            template = SMS_TEMPLATES.get(self.template)
            if template is None or template.channel != channel:
                errors["template"] = (_("There is no SMS template with this code.") if channel == "sms"
                                      else _("There is no voice template with this code."))
        if self.kind in (ActionKind.CALL, ActionKind.VISIT, ActionKind.LEGAL) and not self.work_group_id:
            errors["work_group"] = _("This action needs the work group that does it.")
        if self.kind == ActionKind.AGENCY and not self.agency_id:
            errors["agency"] = _("Outsourcing needs its agency.")
        if errors:
            raise ValidationError(errors)

    def spec(self) -> dict:
        commission = self.commission_percent
        if commission is None and self.agency_id:
            commission = self.agency.commission_percent
        return {"bucket": self.bucket.code, "from_dpd": self.from_dpd, "order": self.order, "kind": self.kind,
                "template": self.template, "work_group": self.work_group_id, "agency": self.agency_id,
                "commission_percent": str(commission) if commission is not None else None,
                "cadence_days": self.cadence_days}


class StrategyVersion(PublishedVersion):
    strategy = models.ForeignKey(CollectionStrategy, verbose_name=_("strategy"), on_delete=models.PROTECT,
                                 related_name="versions")

    parent_field = "strategy"

    class Meta:
        verbose_name = _("collection strategy version")
        verbose_name_plural = _("collection strategy versions")
        ordering = ["strategy__code", "-version"]
        constraints = [models.UniqueConstraint(fields=["strategy", "version"],
                                               name="collections_strategy_unique_version")]


class StrategyStep(models.Model):
    """A published version's actions as rows (written once, with the version), so the daily close
    can pick a case's step in SQL: the last step whose ``from_dpd`` the DPD reached."""

    version = models.ForeignKey(StrategyVersion, on_delete=models.PROTECT, related_name="steps")
    seq = models.PositiveSmallIntegerField()
    bucket = models.CharField(max_length=8)
    from_dpd = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=ActionKind.choices)
    template = models.CharField(max_length=60, blank=True)
    work_group = models.ForeignKey("organisations.WorkGroup", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    commission_percent = PercentField(null=True, blank=True)
    cadence_days = models.PositiveSmallIntegerField(default=1)

    class Meta:
        verbose_name = _("strategy step")
        verbose_name_plural = _("strategy steps")
        ordering = ["version", "seq"]
        constraints = [models.UniqueConstraint(fields=["version", "seq"], name="collections_step_unique_seq")]

    def __str__(self):
        return f"{self.version} #{self.seq} {self.kind}"


class WorkbenchPriority(models.TextChoices):
    """What orders a collector's workbench, highest first."""
    AMOUNT_DPD = "amount_dpd", _("Principal outstanding × days past due")
    AMOUNT = "amount", _("Principal outstanding")
    DPD = "dpd", _("Days past due")


class CompliancePolicy(models.Model):
    """The compliance rules contacts are held to (one row). Enforced by
    ``collection.services.contact_record``, which refuses and logs a contact breaking one. It also
    says what orders the collectors' workbench."""

    timezone = models.CharField(_("time zone"), max_length=40, default="Asia/Shanghai")
    contact_from = models.TimeField(_("contacts from"), default=datetime.time(8, 0))
    contact_until = models.TimeField(_("contacts until"), default=datetime.time(21, 0))
    max_contacts_per_day = models.PositiveSmallIntegerField(
        _("max contacts per borrower per day"), default=3,
        help_text=_("Across all channels and collectors."))
    hardship_days = models.PositiveSmallIntegerField(_("hardship hold (days)"), default=30)
    workbench_priority = models.CharField(
        _("workbench priority"), max_length=12, choices=WorkbenchPriority.choices, default=WorkbenchPriority.AMOUNT_DPD,
        help_text=_("What orders a collector's cases, highest first."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("compliance policy")
        verbose_name_plural = _("compliance policy")

    def __str__(self):
        return str(_("Compliance policy"))

    def clean(self):
        if self.contact_until <= self.contact_from:
            raise ValidationError({"contact_until": _("The end of contact hours is before their start.")})
