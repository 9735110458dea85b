"""API serializers for applicants and enterprises.

Input serializers validate and normalise (ID number upper-case, mobile without +86, digits-only
bank account) with field-named errors; they do not save: the origination service calls
``risk.services.applicants.applicant_get_or_create(**serializer.validated_data, actor=...)``.
Output serializers expose identifiers masked only.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from creditfactory.core.api import fields
from risk.models import Applicant, Employment, Enterprise
from risk.validators import normalise_bank_account, normalise_mobile, parse_credit_code, parse_resident_id

__all__ = [
    "ApplicantInputSerializer",
    "ApplicantOutputSerializer",
    "EnterpriseInputSerializer",
    "EnterpriseOutputSerializer",
]


def _drf(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError([str(message) for message in exc.messages])


class ApplicantInputSerializer(serializers.Serializer):
    name = fields.NameField(max_length=100, label=_("name"))
    id_number = serializers.CharField(max_length=32, label=_("resident ID number"))
    mobile = serializers.CharField(max_length=32, label=_("mobile"))
    monthly_income = fields.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, label=_("monthly income")
    )
    employment = serializers.ChoiceField(choices=Employment.choices, label=_("employment"))
    address = fields.NameField(max_length=300, label=_("address"))
    employer_name = fields.NameField(max_length=200, required=False, allow_blank=True, label=_("employer"))
    years_at_employer = fields.IntegerField(
        min_value=0, max_value=80, required=False, label=_("years at employer")
    )
    bank_account = serializers.CharField(max_length=40, required=False, allow_blank=True, label=_("bank account"))

    def validate_id_number(self, value: str) -> str:
        try:
            return parse_resident_id(value).number
        except DjangoValidationError as exc:
            raise _drf(exc) from None

    def validate_mobile(self, value: str) -> str:
        try:
            return normalise_mobile(value)
        except DjangoValidationError as exc:
            raise _drf(exc) from None

    def validate_bank_account(self, value: str) -> str:
        if not value:
            return ""
        try:
            return normalise_bank_account(value)
        except DjangoValidationError as exc:
            raise _drf(exc) from None


class ApplicantOutputSerializer(serializers.ModelSerializer):
    """The applicant as partners and staff see it by default: identifiers masked."""

    class Meta:
        model = Applicant
        fields = [
            "id", "name", "id_number_masked", "mobile_masked", "bank_account_masked", "sex", "province",
            "employment", "employer_name", "years_at_employer", "monthly_income", "created_at",
        ]
        read_only_fields = fields


class EnterpriseInputSerializer(serializers.Serializer):
    name = fields.NameField(max_length=200, label=_("name"))
    credit_code = serializers.CharField(max_length=32, label=_("unified social credit code"))
    years_in_business = fields.IntegerField(min_value=0, max_value=200, label=_("years in business"))
    annual_revenue = fields.DecimalField(max_digits=18, decimal_places=2, min_value=0,
                                              label=_("annual revenue"))

    def validate_credit_code(self, value: str) -> str:
        try:
            return parse_credit_code(value).code
        except DjangoValidationError as exc:
            raise _drf(exc) from None


class EnterpriseOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Enterprise
        fields = ["id", "name", "credit_code", "years_in_business", "annual_revenue"]
        read_only_fields = fields
