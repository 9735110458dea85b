"""The payment channel's callback: ``POST /api/v1/payments/callback``. No API key — the channel
signs the raw body (``servicing.channels.signing``); anything unsigned, forged or stale is 401
and changes nothing, a replay is 200 and changes nothing."""

import io

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from creditfactory.core.api.errors import error_response
from creditfactory.core.api.parsers import JSONParser
from creditfactory.core.api.schema import error_responses

from .channels.signing import CHANNEL_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from .services.payments import CallbackInvalid, CallbackRefused, payment_callback_receive

CallbackBody = inline_serializer(name="PaymentCallback", fields={
    "reference": serializers.CharField(help_text="The disbursement reference (our idempotency key)."),
    "status": serializers.ChoiceField(choices=["paid", "failed"]),
    "channel_reference": serializers.CharField(required=False),
    "failure_code": serializers.CharField(required=False),
    "failure_message": serializers.CharField(required=False),
})
CallbackAnswer = inline_serializer(name="PaymentCallbackAnswer", fields={
    "reference": serializers.CharField(), "status": serializers.CharField()})


class PaymentCallbackApi(APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(
        operation_id="payments_callback", request=CallbackBody, responses={200: CallbackAnswer, **error_responses(400, 401)},
        parameters=[OpenApiParameter(CHANNEL_HEADER, str, OpenApiParameter.HEADER, required=True),
                    OpenApiParameter(TIMESTAMP_HEADER, str, OpenApiParameter.HEADER, required=True,
                                     description="Unix time in seconds."),
                    OpenApiParameter(SIGNATURE_HEADER, str, OpenApiParameter.HEADER, required=True,
                                     description="hex HMAC-SHA256 of `<timestamp>.<raw body>` with the channel's secret.")],
        tags=["payments"], auth=[],
    )
    def post(self, request):
        body = request.body  # the raw bytes, before any parsing: they are what was signed
        try:  # well-formed, not nested too deep, no control characters — the API's rules, before the signature
            JSONParser().parse(io.BytesIO(body))
        except ParseError as exc:
            return error_response(400, "parse_error", str(exc.detail))
        except ValidationError as exc:
            return error_response(400, "invalid", _("The request has invalid fields."), exc.detail)
        try:
            disbursement = payment_callback_receive(
                channel_code=request.headers.get(CHANNEL_HEADER, ""), body=body,
                timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
                signature=request.headers.get(SIGNATURE_HEADER, ""))
        except CallbackRefused:
            return error_response(401, "not_authenticated", _("The callback signature is missing or invalid."))
        except CallbackInvalid as exc:
            return error_response(400, "invalid", _("The request has invalid fields."), exc.errors)
        return Response({"reference": disbursement.reference, "status": disbursement.status})
