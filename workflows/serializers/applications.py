"""Serializers of the partner API's application endpoints (``workflows/api.py``).

Input serializers only check shape and types, with errors named by field (``applicant.id_number``,
``consents.credit_report``); the product's own limits (amount, term, methods, purposes, whether
the partner may sell it) are checked by ``application_create``. The output serializers read an
application loaded through ``selectors.partner_api.api_application_queryset`` and show the
applicant masked and the decision as the customer may see it.
"""

import threading
from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from creditfactory.core.api import fields
from products.models import Purpose, RepaymentMethod, TermUnit
from risk.serializers.applicants import (
    ApplicantInputSerializer,
    ApplicantOutputSerializer,
    EnterpriseInputSerializer,
    EnterpriseOutputSerializer,
)
from risk.serializers.decisions import DecisionSummarySerializer
from servicing.api import CreditLineOutputSerializer

from ..models import ApplicationDocument, ApplicationStatus, DocumentKind
from ..selectors import partner_api as selectors
from ..services.applications import REQUIRED_CONSENTS
from .signing import SigningAppointmentSerializer

__all__ = [
    "ApplicationCreateInputSerializer",
    "ApplicationDocumentInputSerializer",
    "ApplicationDocumentOutputSerializer",
    "ApplicationDocumentCreatedSerializer",
    "ApplicationListQuerySerializer",
    "ApplicationOutputSerializer",
    "ApplicationWithdrawInputSerializer",
    "ConsentsSerializer",
    "application_representation",
]


class ConsentsSerializer(serializers.Serializer):
    credit_report = serializers.BooleanField(
        help_text=_("The applicant authorised the credit report query (征信授权). Must be true."))
    personal_information = serializers.BooleanField(
        help_text=_("The applicant agreed to the processing of personal information. Must be true."))


class ApplicationCreateInputSerializer(serializers.Serializer):
    product = serializers.CharField(max_length=32,
                                    help_text=_("Code of a product open to the partner, e.g. EDUCATION."))
    amount = fields.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
                                      help_text=_("Requested amount in CNY, a decimal string, e.g. \"20000.00\"."))
    term = fields.IntegerField(min_value=1, max_value=600, help_text=_("In the product's term unit."))
    term_unit = serializers.ChoiceField(choices=TermUnit.choices, required=False,
                                        help_text=_("Defaults to the product's unit; another unit is refused."))
    repayment_method = serializers.ChoiceField(choices=RepaymentMethod.choices)
    purpose = serializers.ChoiceField(choices=Purpose.choices)
    applicant = ApplicantInputSerializer()
    enterprise = EnterpriseInputSerializer(required=False, allow_null=True,
                                           help_text=_("Required for small-business loans."))
    # Not "required" for DRF: an absent object must still answer with both consents named.
    consents = ConsentsSerializer(required=False, default=dict,
                                  help_text=_("Both consents must be given (true); the application is refused "
                                              "otherwise."))
    external_reference = fields.NameField(max_length=64, required=False, allow_blank=True, default="",
                                          help_text=_("Your own id of the application; unique per partner."))
    device_id = fields.NameField(max_length=128, required=False, allow_blank=True, default="",
                                 help_text=_("Device fingerprint, checked against the fraud lists."))

    def validate_consents(self, value):
        value = value or {}
        missing = {name: [_("The applicant must give this consent (true).")]
                   for name in REQUIRED_CONSENTS if value.get(name) is not True}
        if missing:
            raise serializers.ValidationError(missing)
        return value

    def service_kwargs(self) -> dict:
        """Keyword arguments of ``application_create`` (without partner and actor)."""
        data = dict(self.validated_data)
        enterprise = data.pop("enterprise", None)
        return {**data, "applicant": dict(data["applicant"]), "enterprise": dict(enterprise) if enterprise else None}


class ApplicationListQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False)
    product = serializers.CharField(max_length=32, required=False, help_text=_("Product code."))
    created_from = serializers.DateField(required=False, help_text=_("Created on or after this day (Asia/Shanghai)."))
    created_to = serializers.DateField(required=False, help_text=_("Created on or before this day (Asia/Shanghai)."))
    external_reference = serializers.CharField(max_length=64, required=False)
    limit = fields.IntegerField(min_value=1, required=False, help_text=_("Page size (default 50)."))
    offset = fields.IntegerField(min_value=0, required=False)

    def validate(self, attrs):
        start, end = attrs.get("created_from"), attrs.get("created_to")
        if start and end and end < start:
            raise serializers.ValidationError({"created_to": [_("The end date is before the start date.")]})
        return attrs

    def filters(self) -> dict:
        names = ("status", "product", "created_from", "created_to", "external_reference")
        return {name: self.validated_data[name] for name in names if name in self.validated_data}


class ApplicationWithdrawInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text=_("Why the applicant withdraws."))


class ApplicationDocumentInputSerializer(serializers.Serializer):
    file = serializers.FileField(help_text=_("PDF, JPEG or PNG (checked by content), at most "
                                             "WORKFLOW_DOCUMENT_MAX_BYTES (10 MiB by default)."))
    kind = serializers.ChoiceField(choices=DocumentKind.choices, default=DocumentKind.OTHER)
    note = fields.NameField(max_length=255, required=False, allow_blank=True, default="")
    resume = serializers.BooleanField(
        required=False, allow_null=True, default=None,
        help_text=_("For an application returned for documents: true sends it back to the step that asked now; "
                    "false waits for more uploads; absent resumes once every requested kind has arrived."))


class ApplicationDocumentOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApplicationDocument
        fields = ["id", "kind", "name", "content_type", "size", "sha256", "note", "created_at"]
        read_only_fields = fields


class ApplicationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True, help_text=_("Use it in the URLs of this application."))
    number = serializers.CharField(read_only=True, help_text=_("The lender's application number (CA…)."))
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, read_only=True)
    current_node = serializers.SerializerMethodField(
        help_text=_("Where the application waits: assess, review, approval, await_documents, signing, contract; "
                    "empty when it waits nowhere (closed, or between steps)."))
    decision = serializers.SerializerMethodField(
        help_text=_("The automated decision with the customer-facing reasons; null until decided."))
    product = serializers.CharField(source="product_version.product.code", read_only=True)
    product_version = serializers.IntegerField(source="product_version.version", read_only=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    term = serializers.IntegerField(read_only=True)
    term_unit = serializers.ChoiceField(choices=TermUnit.choices, read_only=True)
    repayment_method = serializers.ChoiceField(choices=RepaymentMethod.choices, read_only=True)
    purpose = serializers.ChoiceField(choices=Purpose.choices, read_only=True)
    external_reference = serializers.CharField(read_only=True)
    applicant = ApplicantOutputSerializer(read_only=True)
    enterprise = EnterpriseOutputSerializer(read_only=True, allow_null=True)
    documents = serializers.SerializerMethodField()
    documents_requested = serializers.SerializerMethodField(
        help_text=_("Document kinds asked for while the status is returned; otherwise empty."))
    signing = serializers.SerializerMethodField(help_text=_("The latest remote-signing appointment, or null."))
    credit_line = serializers.SerializerMethodField(help_text=_("The granted credit line, or null."))
    created_at = serializers.DateTimeField(read_only=True)
    submitted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    decided_at = serializers.DateTimeField(read_only=True, allow_null=True)
    approved_at = serializers.DateTimeField(read_only=True, allow_null=True)
    contract_accepted_at = serializers.DateTimeField(read_only=True, allow_null=True)
    closed_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_current_node(self, application) -> str:
        return selectors.api_current_node(application)

    @extend_schema_field(DecisionSummarySerializer(allow_null=True))
    def get_decision(self, application):
        decision = selectors.api_current_decision(application)
        return DecisionSummarySerializer(decision).data if decision is not None else None

    @extend_schema_field(ApplicationDocumentOutputSerializer(many=True))
    def get_documents(self, application):
        documents = getattr(application, "api_documents", None)
        if documents is None:
            documents = application.documents.order_by("created_at", "id")
        return ApplicationDocumentOutputSerializer(documents, many=True).data

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=DocumentKind.choices)))
    def get_documents_requested(self, application) -> list[str]:
        return selectors.api_documents_requested(application)

    @extend_schema_field(SigningAppointmentSerializer(allow_null=True))
    def get_signing(self, application):
        appointment = selectors.api_latest_appointment(application)
        return SigningAppointmentSerializer(appointment).data if appointment is not None else None

    @extend_schema_field(CreditLineOutputSerializer(allow_null=True))
    def get_credit_line(self, application):
        line = getattr(application, "credit_line", None)
        return CreditLineOutputSerializer(line).data if line is not None else None


_bound = threading.local()


def application_representation(application) -> dict:
    """``ApplicationOutputSerializer(application).data`` from a serializer built once per thread:
    building one (its fields, the nested applicant and enterprise model serializers) costs more
    than representing an application, and representing keeps no state on it."""
    serializer = getattr(_bound, "application", None)
    if serializer is None:
        serializer = _bound.application = ApplicationOutputSerializer()
    return serializer.to_representation(application)


class ApplicationDocumentCreatedSerializer(serializers.Serializer):
    document = ApplicationDocumentOutputSerializer()
    application = ApplicationOutputSerializer()
