"""Servicing API: the schedule calculator."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import permissions, status
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle
from rest_framework.views import APIView

from creditfactory.core.api.schema import error_responses

from .calculator import CalculatorError, schedule_calculate
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
