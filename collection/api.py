"""Partner API of the collections app: the ``collection`` part of a loan's representation
(plugged into servicing's loan serializer through ``LOAN_REPRESENTATION_EXTRAS``) and an agency's
cases — an agency (a partner with a ``collection_agency``) sees only the cases assigned to it;
any other partner, or another agency's case, answers 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from creditfactory.core.api import fields
from creditfactory.core.api.errors import UnprocessableEntity, error_body
from creditfactory.core.api.schema import error_responses
from creditfactory.partners.auth import PartnerApiMixin, request_partner
from creditfactory.partners.idempotency import idempotent

from .models import Agency, CaseStatus, Classification, ContactChannel, ContactParty, ContactResult, EmergencyContact
from .selectors import agency_cases, loan_collection_summaries
from .services.contacts import ContactRefused, contact_record

TAGS = ["collection"]


class LoanCollectionSerializer(serializers.Serializer):
    """A loan's collection case and classification (五级分类), as its partner sees them."""

    case = serializers.IntegerField(allow_null=True, read_only=True,
                                    help_text=_("The open case, else the last one; null when never overdue."))
    status = serializers.ChoiceField(choices=CaseStatus.choices, allow_null=True, read_only=True)
    bucket = serializers.CharField(allow_null=True, read_only=True, help_text=_("DPD bucket: M1, M2, M3, M3+."))
    classification = serializers.ChoiceField(choices=Classification.choices, read_only=True)

    def to_representation(self, loan):
        # One batch for a whole page of loans: the root serializer's instances.
        cache = self.root.__dict__.setdefault("_collection_summaries", {})
        if loan.pk not in cache:
            instances = self.root.instance
            loans = list(instances) if isinstance(instances, (list, tuple)) else [loan]
            cache.update(loan_collection_summaries(item.pk for item in loans))
        return cache[loan.pk]


def loan_collection_field() -> serializers.Field:
    return LoanCollectionSerializer(source="*", read_only=True)


class AgencyCaseSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    loan = serializers.IntegerField(source="loan_id", read_only=True)
    loan_number = serializers.CharField(source="loan.number", read_only=True)
    product = serializers.CharField(source="loan.product_version.product.code", read_only=True)
    bucket = serializers.CharField(read_only=True)
    dpd = serializers.IntegerField(source="loan.days_past_due", read_only=True)
    opened_on = serializers.DateField(read_only=True)
    borrower = serializers.CharField(source="loan.applicant.name", read_only=True)
    mobile = serializers.CharField(source="loan.applicant.mobile_masked", read_only=True,
                                   help_text=_("Masked."))
    principal_outstanding = serializers.DecimalField(source="loan.principal_outstanding", max_digits=18,
                                                     decimal_places=2, read_only=True)


def _agency(request) -> Agency:
    partner = request_partner(request)
    agency = Agency.objects.filter(partner=partner, is_active=True).first() if partner else None
    if agency is None:
        raise Http404
    return agency


class AgencyCaseListApi(PartnerApiMixin, GenericAPIView):
    """The calling agency's open cases (404 for a partner that is not an agency)."""

    serializer_class = AgencyCaseSerializer

    @extend_schema(operation_id="collection_cases_list", responses={200: AgencyCaseSerializer(many=True),
                                                                    **error_responses(401, 404, 429)}, tags=TAGS)
    def get(self, request):
        page = self.paginate_queryset(agency_cases(_agency(request)))
        return self.get_paginated_response(AgencyCaseSerializer(page, many=True).data)


class AgencyCaseDetailApi(PartnerApiMixin, APIView):
    """One case of the calling agency (another agency's, or a case no longer its, answers 404)."""

    @extend_schema(operation_id="collection_cases_retrieve",
                   responses={200: AgencyCaseSerializer, **error_responses(401, 404, 429)}, tags=TAGS)
    def get(self, request, pk):
        case = agency_cases(_agency(request)).filter(pk=pk).first()
        if case is None:
            raise Http404
        return Response(AgencyCaseSerializer(case).data)


class AgencyContactInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ContactChannel.choices)
    party = serializers.ChoiceField(choices=ContactParty.choices, default=ContactParty.BORROWER)
    emergency_contact = fields.IntegerField(required=False, allow_null=True, min_value=1,
                                                 help_text=_("The borrower's registered emergency contact (id)."))
    result = serializers.ChoiceField(choices=ContactResult.choices)
    notes = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    at = serializers.DateTimeField(required=False, help_text=_("When the contact took place; default now."))
    promise_amount = fields.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True,
                                              help_text=_("A promise to pay made in the contact (CNY)."))
    promise_due_on = serializers.DateField(required=False, allow_null=True)


class AgencyContactSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    case = serializers.IntegerField(source="case_id", read_only=True)
    channel = serializers.CharField(read_only=True)
    party = serializers.CharField(read_only=True)
    result = serializers.CharField(read_only=True)
    at = serializers.DateTimeField(read_only=True)
    promise = serializers.SerializerMethodField()

    def get_promise(self, contact) -> dict | None:
        promise = contact.promises.first()
        if promise is None:
            return None
        return {"id": promise.pk, "amount": f"{promise.amount:.2f}", "due_on": promise.due_on.isoformat(),
                "status": promise.status}


class AgencyContactApi(PartnerApiMixin, APIView):
    """An agency reports a contact (and a promise to pay made in it) on one of its cases. The
    compliance rules hold for agencies too: a contact breaking one answers 422 naming the rule
    (``errors.rule``), and the refusal is logged."""

    @extend_schema(operation_id="collection_cases_contacts_create", request=AgencyContactInputSerializer,
                   responses={201: AgencyContactSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
                   tags=TAGS)
    @idempotent
    def post(self, request, pk):
        agency = _agency(request)
        case = agency_cases(agency).filter(pk=pk).first()
        if case is None:
            raise Http404
        serializer = AgencyContactInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        emergency = None
        if data.get("emergency_contact"):
            emergency = EmergencyContact.objects.filter(pk=data["emergency_contact"]).first()
        try:
            contact = contact_record(case=case, agency=agency, channel=data["channel"], party=data["party"],
                                     emergency_contact=emergency, result=data["result"], notes=data["notes"],
                                     at=data.get("at"), promise_amount=data.get("promise_amount"),
                                     promise_due_on=data.get("promise_due_on"))
        except ContactRefused as exc:
            # Answered, not raised: the refusal's log row commits with the request.
            return Response(error_body("contact_refused", str(exc), {"rule": [exc.rule]}),
                            status=http.HTTP_422_UNPROCESSABLE_ENTITY)
        except PermissionDenied:
            raise Http404 from None
        except DjangoValidationError as exc:
            raise UnprocessableEntity(error_body("invalid", " ".join(exc.messages), exc.message_dict)) from None
        return Response(AgencyContactSerializer(contact).data, status=http.HTTP_201_CREATED)
