"""Loan products (产品参数可配置): the six product elements plus conditions, as a working copy
that admins edit and immutable published versions that originations point to."""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from creditfactory.core.fields import MoneyField, PercentField
from creditfactory.core.models import TimeStampedModel

from .choices import (
    DEFAULT_ALLOCATION_ORDER,
    AllocationMode,
    DayCount,
    PrepaymentRecompute,
    ProductStatus, ProductType, Purpose, RateBasis, RepaymentMethod, TermUnit,
)
from .validation import validate_product_terms

# The choices are defined in products.choices; they stay importable from here.
__all__ = [
    "DayCount",
    "LoanProduct",
    "ProductStatus",
    "ProductTerms",
    "ProductType",
    "ProductVersion",
    "Purpose",
    "RateBasis",
    "RepaymentMethod",
    "TermUnit",
]


def default_allocation_order() -> list[str]:
    return list(DEFAULT_ALLOCATION_ORDER)


def default_collection_retry_days() -> list[int]:
    return [1, 3, 7]


class ProductTerms(models.Model):
    """The parameters of a product, shared by the working copy and its published versions."""

    name = models.CharField(_("name"), max_length=120)
    product_type = models.CharField(_("product type"), max_length=32, choices=ProductType.choices)
    currency = models.CharField(_("currency"), max_length=3, default="CNY", editable=False)
    description = models.TextField(_("description"), blank=True)

    amount_min = MoneyField(_("minimum amount"))
    amount_max = MoneyField(_("maximum amount"))

    term_unit = models.CharField(_("term unit"), max_length=8, choices=TermUnit.choices, default=TermUnit.MONTHS)
    term_min = models.PositiveIntegerField(_("minimum term"))
    term_max = models.PositiveIntegerField(_("maximum term"))

    rate_basis = models.CharField(_("rate quoted as"), max_length=8, choices=RateBasis.choices, default=RateBasis.ANNUAL)
    rate_min_percent = PercentField(_("minimum rate (%)"))
    rate_default_percent = PercentField(_("default rate (%)"))
    rate_max_percent = PercentField(_("maximum rate (%)"))
    day_count = models.CharField(_("day count"), max_length=8, choices=DayCount.choices, default=DayCount.ACT_360)

    repayment_methods = models.JSONField(
        _("repayment methods"), default=list, help_text=_("Allowed repayment methods (还款方式).")
    )
    interest_every_months = models.PositiveSmallIntegerField(
        _("interest every (months)"),
        default=1,
        choices=[(1, _("Monthly")), (3, _("Quarterly"))],
        help_text=_("For interest-first (先息后本): how often interest is paid."),
    )
    purposes = models.JSONField(_("allowed purposes"), default=list)

    grace_days = models.PositiveSmallIntegerField(_("grace days"), default=3)
    penalty_rate_multiplier = models.DecimalField(
        _("penalty rate multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.50"),
        help_text=_("Penalty interest (罚息) rate as a multiple of the contract rate."),
    )
    prepayment_allowed = models.BooleanField(_("prepayment allowed"), default=True)
    prepayment_fee_percent = PercentField(
        # xgettext:no-python-format
        _("prepayment fee (% of prepaid principal)"), default=Decimal("0"), blank=True
    )
    # xgettext:no-python-format
    upfront_fee_percent = PercentField(_("upfront fee (% of principal)"), default=Decimal("0"), blank=True)
    # Servicing (贷后): penalty on interest, allocation of repayments, early repayment, collection.
    penalty_compound = models.BooleanField(
        _("penalty on overdue interest (复利)"), default=False,
        help_text=_("Penalty interest also runs on unpaid interest, at the same rate."),
    )
    allocation_order = models.JSONField(
        _("allocation order"), default=default_allocation_order,
        help_text=_("The order in which a repayment pays the components of what is owed."),
    )
    allocation_mode = models.CharField(
        _("allocation across installments"), max_length=12, choices=AllocationMode.choices,
        default=AllocationMode.INSTALLMENT,
    )
    prepayment_recompute = models.CharField(
        _("after a partial prepayment"), max_length=20, choices=PrepaymentRecompute.choices,
        default=PrepaymentRecompute.REDUCE_INSTALLMENT,
    )
    collection_retry_days = models.JSONField(
        _("collection retry days"), default=default_collection_retry_days, blank=True,
        help_text=_("Days after the due date on which a failed scheduled debit (代扣) is tried again."),
    )
    write_off_dpd = models.PositiveSmallIntegerField(
        _("write-off proposed at days past due"), default=180,
        help_text=_("The daily close proposes a write-off (核销, approved by a person) at this many days past due."),
    )
    write_off_repropose_days = models.PositiveSmallIntegerField(
        _("write-off proposed again after (days)"), default=30, null=True, blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("After a rejected write-off, the daily close proposes the loan again this many business days "
                    "after the rejection if it is still past the write-off DPD. Empty: never again."),
    )

    age_min = models.PositiveSmallIntegerField(_("minimum applicant age"), default=18)
    age_max = models.PositiveSmallIntegerField(_("maximum applicant age"), default=60)
    line_validity_months = models.PositiveSmallIntegerField(_("credit line validity (months)"), default=12)
    line_revolving = models.BooleanField(
        _("revolving line (循环额度)"), default=True,
        help_text=_("Repaid principal becomes available again. Off: a one-off line, available = limit − ever drawn."),
    )
    drawdown_review_above = MoneyField(
        _("disbursement review above"), null=True, blank=True,
        help_text=_("Drawdowns above this amount need a disbursement review (放款审核); empty: none by amount."),
    )
    drawdown_review_purposes = models.JSONField(
        _("purposes needing disbursement review"), default=list, blank=True,
        help_text=_("Drawdowns for these purposes always need a disbursement review."),
    )
    apr_cap_percent = PercentField(
        _("APR cap (%)"), default=Decimal("24"), help_text=_("IRR-annualised rate the worst case may not exceed.")
    )

    class Meta:
        abstract = True

    # Names of the parameter fields, copied verbatim into a published version.
    @classmethod
    def term_field_names(cls) -> list[str]:
        return [f.name for f in ProductTerms._meta.get_fields() if f.concrete]

    def clean(self):
        errors = validate_product_terms(self)
        if errors:
            raise ValidationError(errors)


class LoanProduct(ProductTerms, TimeStampedModel):
    """The editable working copy of a product. Originations never point here: they point to the
    ``ProductVersion`` that was current when they started."""

    code = models.SlugField(
        _("code"), max_length=32, unique=True, help_text=_("Stable identifier used by the API, e.g. EDUCATION.")
    )
    status = models.CharField(
        _("status"), max_length=8, choices=ProductStatus.choices, default=ProductStatus.DRAFT, editable=False
    )
    current_version = models.ForeignKey(
        "ProductVersion",
        verbose_name=_("current version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        ordering = ["code"]
        permissions = [
            ("publish_loanproduct", _("Can publish and retire loan products")),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"


class ProductVersion(ProductTerms):
    """An immutable published snapshot of a product's parameters."""

    product = models.ForeignKey(
        LoanProduct, verbose_name=_("product"), on_delete=models.PROTECT, related_name="versions"
    )
    version = models.PositiveIntegerField(_("version"))
    published_at = models.DateTimeField(_("published at"), auto_now_add=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("product version")
        verbose_name_plural = _("product versions")
        ordering = ["product__code", "-version"]
        constraints = [models.UniqueConstraint(fields=["product", "version"], name="uniq_product_version")]

    def __str__(self):
        return f"{self.product.code} v{self.version}"

    @property
    def code(self) -> str:
        return self.product.code

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(_("A published product version cannot be changed."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(_("A published product version cannot be deleted."))
