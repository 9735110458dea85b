"""Partner API v1 of drawdowns (借款): draw on a credit line, follow the drawdown to its loan,
cancel it before disbursement. Thin: validate with an input serializer, scope to the calling
partner (another partner's ids answer 404, like ids that do not exist), call one service, answer
with the output serializer.

Errors: a field the request got wrong (amount, term, method, purpose outside the product) → 400
naming it; an amount above what is available → 422 naming ``amount`` with the available figure
(``errors.available``); a frozen, expired or terminated line, or a drawdown past disbursement →
409.
"""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

from django.db import IntegrityError
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView
from viewflow.workflow.exceptions import FlowLockFailed

from creditfactory.core.api import fields
from creditfactory.core.api.errors import Conflict, error_body
from creditfactory.core.api.schema import error_responses
from creditfactory.partners.auth import PartnerApiMixin
from creditfactory.partners.idempotency import idempotent
from creditfactory.partners.scoping import get_partner_object_or_404, get_partner_row_or_404, scope_to_partner
from products.choices import RepaymentMethod, TermUnit
from servicing.fastpath import LINE_TO_DRAW
from servicing.models import Drawdown, DrawdownFunding, DrawdownStatus
from servicing.services.drawdowns import DrawdownRefused

from .selectors.drawdowns import drawdown_queryset
from .services import drawdowns as services

__all__ = ["CreditLineDrawdownApi", "DrawdownCancelApi", "DrawdownDetailApi", "DrawdownListApi"]

TAGS = ["drawdowns"]

EXAMPLE_CREATE = {"amount": "20000.00", "term": 12, "term_unit": "months", "repayment_method": "equal_installment",
                  "purpose": "education", "bank_account": "6222021234567890128",
                  "external_reference": "ACME-DD-000123"}


class Unprocessable(APIException):
    status_code = http.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "unprocessable"
    default_detail = gettext_lazy("The request cannot be processed.")


@contextmanager
def service_errors():
    try:
        yield
    except DrawdownRefused as exc:
        body = error_body(exc.code, exc.message, {**exc.errors, **{k: [v] for k, v in exc.figures.items()}})
        raise (Unprocessable(body) if exc.status == 422 else Conflict(body)) from None
    except FlowLockFailed:
        raise Conflict(error_body("drawdown_busy", _("Another request is moving this drawdown right now; retry "
                                                    "shortly."))) from None


# --- serializers -----------------------------------------------------------------------------------


class DrawdownCreateInputSerializer(serializers.Serializer):
    amount = fields.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
                                 help_text=gettext_lazy("CNY, e.g. \"20000.00\"; at most what the line has available."))
    term = fields.IntegerField(min_value=1, max_value=600)
    term_unit = serializers.ChoiceField(choices=TermUnit.choices, required=False,
                                        help_text=gettext_lazy("Defaults to the product's unit."))
    repayment_method = serializers.ChoiceField(choices=RepaymentMethod.choices)
    purpose = serializers.CharField(max_length=24)
    bank_account = serializers.CharField(max_length=40, help_text=gettext_lazy(
        "The borrower's account the money is paid to (12–25 digits)."))
    external_reference = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")


class DrawdownFundingSerializer(serializers.Serializer):
    funder = serializers.CharField(source="funder.code")
    share_percent = serializers.DecimalField(max_digits=9, decimal_places=2)
    principal = serializers.DecimalField(max_digits=18, decimal_places=2)


class DrawdownReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    text = serializers.CharField()


class DrawdownOutputSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=DrawdownStatus.choices, read_only=True)
    credit_line = serializers.IntegerField(source="credit_line_id", read_only=True)
    product = serializers.CharField(source="product_version.product.code", read_only=True)
    bank_account = serializers.CharField(source="bank_account_masked", read_only=True)
    loan = serializers.SerializerMethodField(help_text="Id of the loan once booked, else null.")
    funding = DrawdownFundingSerializer(many=True, read_only=True)
    reasons = DrawdownReasonSerializer(many=True, read_only=True)

    class Meta:
        model = Drawdown
        fields = ["id", "number", "status", "amount", "term", "term_unit", "repayment_method", "purpose",
                  "credit_line", "product", "bank_account", "external_reference", "loan", "funding", "reasons",
                  "review_required", "requested_on", "value_date", "created_at"]
        read_only_fields = fields

    def get_loan(self, drawdown) -> int | None:
        try:
            return drawdown.loan.pk
        except Exception:  # noqa: BLE001 - RelatedObjectDoesNotExist: not booked yet
            return None


class DrawdownListQuerySerializer(serializers.Serializer):
    credit_line = fields.IntegerField(min_value=1, required=False)
    status = serializers.ChoiceField(choices=DrawdownStatus.choices, required=False)
    limit = fields.IntegerField(min_value=1, required=False, help_text=gettext_lazy("Page size (default 50)."))
    offset = fields.IntegerField(min_value=0, required=False)


class DrawdownCancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def _represent(drawdown) -> dict:
    return DrawdownOutputSerializer(drawdown_queryset().select_related("loan").get(pk=drawdown.pk)).data


_CREATED_OUTPUT: list = []


def _represent_created(drawdown) -> dict:
    """The 201 body of a drawdown this request created, from the service's own instance: in the
    creating transaction it has no funding and no loan yet (its flow's first job is sent on
    commit), so nothing is read again. One serializer per process writes it (its fields are
    built once; ``to_representation`` keeps no state between calls)."""
    Drawdown.loan.related.set_cached_value(drawdown, None)
    funding = DrawdownFunding.objects.none()
    funding._result_cache, funding._prefetch_done = [], True  # as a prefetch leaves it: nothing to compile
    drawdown._prefetched_objects_cache = {"funding": funding}
    if not _CREATED_OUTPUT:
        _CREATED_OUTPUT.append(DrawdownOutputSerializer())
    return _CREATED_OUTPUT[0].to_representation(drawdown)


def _actor(request) -> dict:
    return {"actor": None, "actor_label": request.user.actor_label}


# --- views -----------------------------------------------------------------------------------------


class CreditLineDrawdownApi(PartnerApiMixin, APIView):
    """Draw on one of the partner's credit lines."""

    @extend_schema(
        operation_id="credit_lines_drawdowns_create",
        request=DrawdownCreateInputSerializer,
        responses={201: DrawdownOutputSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
        examples=[OpenApiExample("20,000 over 12 months", value=EXAMPLE_CREATE, request_only=True)],
        tags=TAGS,
        description="Create a drawdown: the amount is reserved on the line at once and its flow starts (in-loan "
        "check, funding routing, disbursement review where the product requires it, disbursement, loan). "
        "Send an `Idempotency-Key`. More than is available answers 422 naming `amount` with the available "
        "figure; a frozen, expired or terminated line 409.",
    )
    @idempotent(required=True)
    def post(self, request, pk):
        line = get_partner_row_or_404(LINE_TO_DRAW, request, pk=pk)
        serializer = DrawdownCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {**serializer.validated_data, "amount": f"{serializer.validated_data['amount']:.2f}"}
        try:
            with service_errors():
                drawdown = services.drawdown_request(line=line, data=data, partner=self.partner, **_actor(request))
        except IntegrityError:
            message = _("A drawdown with this reference exists already.")
            raise Conflict(error_body("conflict", message, {"external_reference": [message]})) from None
        location = reverse("api:drawdown-detail", kwargs={"pk": drawdown.pk})
        return Response(_represent_created(drawdown), status=http.HTTP_201_CREATED, headers={"Location": location})


class DrawdownListApi(PartnerApiMixin, GenericAPIView):
    """The partner's drawdowns, newest first, filtered by credit line and status."""

    serializer_class = DrawdownOutputSerializer

    def get_queryset(self):
        return scope_to_partner(drawdown_queryset().select_related("loan"), self.request)

    @extend_schema(
        operation_id="drawdowns_list",
        parameters=[DrawdownListQuerySerializer],
        responses={200: DrawdownOutputSerializer(many=True), **error_responses(400, 401, 429)},
        tags=TAGS,
    )
    def get(self, request):
        query = DrawdownListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = self.get_queryset()
        if "credit_line" in query.validated_data:
            queryset = queryset.filter(credit_line_id=query.validated_data["credit_line"])
        if "status" in query.validated_data:
            queryset = queryset.filter(status=query.validated_data["status"])
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(DrawdownOutputSerializer(page, many=True).data)


class DrawdownDetailApi(PartnerApiMixin, APIView):
    """One drawdown of the partner: status, funding, the loan once booked, reasons."""

    @extend_schema(
        operation_id="drawdowns_retrieve",
        responses={200: DrawdownOutputSerializer, **error_responses(401, 404, 429)},
        tags=TAGS,
    )
    def get(self, request, pk):
        drawdown = get_partner_object_or_404(drawdown_queryset().select_related("loan"), request, pk=pk)
        return Response(DrawdownOutputSerializer(drawdown).data)


class DrawdownCancelApi(PartnerApiMixin, APIView):
    """Cancel a drawdown before disbursement."""

    @extend_schema(
        operation_id="drawdowns_cancel",
        request=DrawdownCancelInputSerializer,
        responses={200: DrawdownOutputSerializer, **error_responses(400, 401, 404, 409, 429)},
        tags=TAGS,
        description="Cancel before disbursement: the reservation on the line is released. 409 once it is "
        "disbursing, disbursed, rejected, cancelled or failed.",
    )
    @idempotent
    def post(self, request, pk):
        drawdown = get_partner_object_or_404(Drawdown.objects.all(), request, pk=pk)
        serializer = DrawdownCancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            drawdown = services.drawdown_withdraw(drawdown=drawdown, reason=serializer.validated_data["reason"],
                                                  **_actor(request))
        return Response(_represent(drawdown))
