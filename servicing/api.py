"""Servicing API: the schedule calculator (public) and the partner's view of a granted credit line."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from creditfactory.core.api.schema import error_responses
from creditfactory.partners.auth import PartnerApiMixin
from creditfactory.partners.scoping import get_partner_object_or_404

from .calculator import CalculatorError, schedule_calculate
from .models import CreditLine, CreditLineStatus
from .serializers import CalculatorInputSerializer, ScheduleOutputSerializer, quote_to_dict


class CalculatorThrottle(AnonRateThrottle):
    rate = "120/min"


class CalculatorUserThrottle(UserRateThrottle):
    rate = "600/min"


class ScheduleCalculatorApi(APIView):
    """Trial calculation (试算): installments, totals and the IRR-annualised rate. Public: it reads
    only published product terms and stores nothing."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [CalculatorThrottle, CalculatorUserThrottle]

    @extend_schema(
        operation_id="calculator_schedule",
        request=CalculatorInputSerializer,
        responses={200: ScheduleOutputSerializer, **error_responses(400, 429)},
        examples=[
            OpenApiExample(
                "Equal installment, 100,000 at 6 % over 12 months",
                value={"principal": "100000.00", "annual_rate_percent": "6.0", "term": 12, "term_unit": "months",
                       "method": "equal_installment", "start_date": "2026-01-15"},
                request_only=True,
            )
        ],
        tags=["calculator"],
    )
    def post(self, request):
        serializer = CalculatorInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            quote = schedule_calculate(**serializer.calculation_kwargs())
        except CalculatorError as exc:
            from rest_framework.exceptions import ValidationError

            raise ValidationError(exc.errors) from exc
        return Response(quote_to_dict(quote), status=status.HTTP_200_OK)


# --- credit lines (partner API) -------------------------------------------------------------------


class CreditLineOutputSerializer(serializers.ModelSerializer):
    """A granted credit line (授信额度) as its partner sees it."""

    application = serializers.IntegerField(source="application_id", read_only=True,
                                           help_text="Id of the application the line was granted for.")
    application_number = serializers.CharField(source="application.number", read_only=True)
    product = serializers.CharField(source="product_version.product.code", read_only=True)
    status = serializers.ChoiceField(choices=CreditLineStatus.choices, read_only=True)
    available = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True,
                                         help_text="limit − used, CNY.")

    class Meta:
        model = CreditLine
        fields = ["id", "application", "application_number", "product", "status", "limit", "used", "available",
                  "rate_percent", "rate_basis", "grade", "valid_from", "valid_until", "created_at"]
        read_only_fields = fields


def credit_line_queryset():
    return CreditLine.objects.select_related("application", "product_version__product")


class CreditLineDetailApi(PartnerApiMixin, APIView):
    """One credit line of the calling partner (another partner's id answers 404)."""

    @extend_schema(
        operation_id="credit_lines_retrieve",
        responses={200: CreditLineOutputSerializer, **error_responses(401, 404, 429)},
        tags=["credit lines"],
    )
    def get(self, request, pk):
        line = get_partner_object_or_404(credit_line_queryset(), request, pk=pk)
        return Response(CreditLineOutputSerializer(line).data)
