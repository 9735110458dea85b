"""Partner API of the collections app: the ``collection`` part of a loan's representation
(plugged into servicing's loan serializer through ``LOAN_REPRESENTATION_EXTRAS``) and an agency's
cases — an agency (a partner with a ``collection_agency``) sees only the cases assigned to it;
any other partner, or another agency's case, answers 404."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from creditfactory.core.api.schema import error_responses
from creditfactory.partners.auth import PartnerApiMixin, request_partner

from .models import Agency, CaseStatus, Classification
from .selectors import agency_cases, loan_collection_summaries

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
