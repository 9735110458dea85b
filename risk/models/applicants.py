"""Applicants (申请人) and enterprises (企业) as risk assessment sees them.

The ID number, mobile and bank account are stored three ways: encrypted (the value itself),
a blind index (HMAC, for exact lookups: duplicates, lists) and a masked copy (for display).
``save()`` keeps the index and the masked copy in step with the encrypted value, whichever
path wrote it. Validation and the facts derived from the ID (birth date, sex, province) are
the job of ``risk.services.applicants``.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from creditfactory.core.fields import MoneyField
from creditfactory.core.models import TimeStampedModel
from creditfactory.core.pii import EncryptedTextField, blind_index, mask_value
from creditfactory.core.rows import RowWriterSaveMixin
from risk.validators import validate_credit_code

__all__ = ["Applicant", "Employment", "Enterprise", "Sex"]


class Employment(models.TextChoices):
    EMPLOYED = "employed", _("Employed")
    SELF_EMPLOYED = "self_employed", _("Self-employed")
    BUSINESS_OWNER = "business_owner", _("Business owner")
    UNEMPLOYED = "unemployed", _("Unemployed")
    RETIRED = "retired", _("Retired")
    STUDENT = "student", _("Student")


class Sex(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


# (encrypted field, blind-index kind) of every protected identifier.
PII_FIELDS = (("id_number", "id_number"), ("mobile", "mobile"), ("bank_account", "bank_account"))


class Applicant(RowWriterSaveMixin, TimeStampedModel):
    """One natural person, found again by the blind index of the ID number."""

    name = models.CharField(_("name"), max_length=100)
    id_number = EncryptedTextField(_("resident ID number"))
    id_number_index = models.CharField(_("ID number index"), max_length=64, unique=True, editable=False)
    id_number_masked = models.CharField(_("ID number"), max_length=32, editable=False)
    mobile = EncryptedTextField(_("mobile"))
    mobile_index = models.CharField(_("mobile index"), max_length=64, db_index=True, editable=False)
    mobile_masked = models.CharField(_("mobile"), max_length=32, editable=False)
    bank_account = EncryptedTextField(_("bank account"), blank=True, default="")
    bank_account_index = models.CharField(
        _("bank account index"), max_length=64, blank=True, db_index=True, editable=False
    )
    bank_account_masked = models.CharField(_("bank account"), max_length=32, blank=True, editable=False)

    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    province = models.CharField(_("province code"), max_length=2)
    employment = models.CharField(_("employment"), max_length=16, choices=Employment.choices)
    employer_name = models.CharField(_("employer"), max_length=200, blank=True)
    years_at_employer = models.PositiveSmallIntegerField(_("years at employer"), default=0)
    monthly_income = MoneyField(_("monthly income"))
    address = models.CharField(_("address"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("applicant")
        verbose_name_plural = _("applicants")
        ordering = ["-created_at"]
        permissions = [
            ("reveal_applicant_pii", _("Can reveal an applicant's unmasked ID number, mobile and bank account")),
        ]

    def __str__(self):
        return f"{self.name} ({self.id_number_masked})"

    def refresh_protected_fields(self) -> None:
        """Recompute the blind indexes and masked copies from the plaintext values."""
        for field, kind in PII_FIELDS:
            value = getattr(self, field) or ""
            setattr(self, f"{field}_index", blind_index(kind, value) if value else "")
            setattr(self, f"{field}_masked", mask_value(kind, value) if value else "")

    def save(self, *args, **kwargs):
        self.refresh_protected_fields()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            derived = {
                f"{field}_{suffix}" for field, _kind in PII_FIELDS if field in update_fields
                for suffix in ("index", "masked")
            }
            kwargs["update_fields"] = list(dict.fromkeys([*update_fields, *sorted(derived)]))
        super().save(*args, **kwargs)


class Enterprise(TimeStampedModel):
    """A business borrower (经营贷), identified by its unified social credit code."""

    name = models.CharField(_("name"), max_length=200)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    years_in_business = models.PositiveSmallIntegerField(_("years in business"), default=0)
    annual_revenue = MoneyField(_("annual revenue"), default=0)
    legal_representative = models.ForeignKey(
        Applicant,
        verbose_name=_("legal representative"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="enterprises",
    )

    class Meta:
        verbose_name = _("enterprise")
        verbose_name_plural = _("enterprises")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} ({self.credit_code})"
