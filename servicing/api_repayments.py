"""Partner API of repayments (还款): a loan's quote for early repayment, posting a repayment
(``Idempotency-Key`` required) and the loan's transactions. Another partner's loan answers 404.

Errors: a field the request got wrong → 400 naming it; a payoff below its quote or a prepayment
not matching it → 422 naming ``amount`` with the quote (``errors.quote``); a closed or written-off
loan → 409."""

from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework import status as http
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from creditfactory.core.api import fields
from creditfactory.core.api.errors import Conflict, UnprocessableEntity, error_body
from creditfactory.core.api.schema import error_responses
from creditfactory.partners.auth import PartnerApiMixin
from creditfactory.partners.idempotency import idempotent
from creditfactory.partners.scoping import get_partner_object_or_404

from .api_loans import LoanOutputSerializer
from .models import Loan, RepaymentKind, RepaymentSource
from .selectors.loans import loan_queryset, loan_transactions
from .services.calendar import business_date
from .services.repayments import RepaymentRefused, loan_quote, repayment_post

__all__ = ["LoanQuoteApi", "LoanRepaymentApi", "LoanTransactionsApi"]

TAGS = ["loans"]


def _money(**kwargs):
    return serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, **kwargs)


@contextmanager
def refusals():
    try:
        yield
    except RepaymentRefused as exc:
        errors = {exc.field: [exc.message], **{k: [f"{v:.2f}"] for k, v in exc.figures.items()}}
        body = error_body(exc.code, exc.message, errors)
        raise (UnprocessableEntity(body) if exc.status == 422 else Conflict(body)) from None


class QuoteQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[RepaymentKind.PAYOFF, RepaymentKind.PREPAYMENT])
    principal = fields.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                    help_text=gettext_lazy("The principal to prepay (kind=prepayment)."))

    def validate(self, data):
        if data["kind"] == RepaymentKind.PREPAYMENT and "principal" not in data:
            raise serializers.ValidationError({"principal": [_("Name the principal to prepay.")]})
        return data


class QuoteOutputSerializer(serializers.Serializer):
    date = serializers.DateField(read_only=True, help_text=gettext_lazy("The business date the quote is for."))
    payable = _money(help_text=gettext_lazy("What is due today: unpaid installments due on or before it and their "
                                            "penalty (penalty and fee below are parts of it)."))
    principal = _money(help_text=gettext_lazy("Principal repaid early: all not yet due (payoff) or the chosen one."))
    interest = _money(help_text=gettext_lazy("Interest to date on that principal."))
    penalty = _money()
    fee = _money()
    prepayment_fee = _money()
    total = _money(help_text=gettext_lazy("payable + principal + interest + prepayment_fee."))


class RepaymentInputSerializer(serializers.Serializer):
    amount = fields.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    kind = serializers.ChoiceField(choices=RepaymentKind.choices, default=RepaymentKind.REGULAR)
    principal = fields.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                    help_text=gettext_lazy("Prepayment only: the principal to prepay."))
    reference = serializers.CharField(max_length=80, help_text=gettext_lazy(
        "Your payment's reference: a repayment is posted once per reference and loan."))

    def validate(self, data):
        if data["kind"] == RepaymentKind.PREPAYMENT and "principal" not in data:
            raise serializers.ValidationError({"principal": [_("Name the principal to prepay.")]})
        if data["kind"] != RepaymentKind.PREPAYMENT and "principal" in data:
            raise serializers.ValidationError({"principal": [_("Only a prepayment names a principal.")]})
        return data


class AllocationSerializer(serializers.Serializer):
    principal = _money()
    interest = _money()
    penalty = _money()
    fee = _money()
    prepayment_fee = _money()
    credit_balance = _money(help_text=gettext_lazy("Beyond what was payable: held on the loan, applied when the "
                                                   "next installment falls due, refundable."))


class RepaymentOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    amount = _money()
    value_date = serializers.DateField(read_only=True)
    reference = serializers.CharField(read_only=True)
    allocation = serializers.SerializerMethodField()
    loan = serializers.SerializerMethodField()

    @extend_schema_field(AllocationSerializer)
    def get_allocation(self, repayment) -> dict:
        return AllocationSerializer(repayment).data

    @extend_schema_field(LoanOutputSerializer)
    def get_loan(self, repayment) -> dict:
        posted = getattr(repayment, "posted_loan", None)
        if posted is None:  # a repayment read back (an idempotent replay): the loan as it is now
            loan = loan_queryset().get(pk=repayment.loan_id)
        else:  # just posted: the locked loan as the service left it, without reading it again
            loan, installments, parts = posted
            loan._prefetched_objects_cache = {"installments": installments, "parts": parts}
        return LoanOutputSerializer(loan, context=self.context).data


class TransactionSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["disbursement", "repayment", "credit_applied", "refund"], read_only=True)
    date = serializers.DateField(read_only=True, help_text=gettext_lazy("Value date (business date)."))
    amount = _money()
    reference = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True, allow_blank=True, help_text=gettext_lazy(
        "A repayment's kind: regular, payoff or prepayment."))
    source = serializers.CharField(read_only=True, allow_blank=True)
    allocation = AllocationSerializer(read_only=True, allow_null=True)


# --- views -----------------------------------------------------------------------------------------


class LoanQuoteApi(PartnerApiMixin, APIView):
    """Today's quote to pay a loan off, or to prepay part of its principal."""

    @extend_schema(
        operation_id="loans_quote", parameters=[QuoteQuerySerializer],
        responses={200: QuoteOutputSerializer, **error_responses(400, 401, 404, 409, 422, 429)}, tags=TAGS,
        description="For the current business date (docs/servicing.md §5): payoff = payable + principal not yet due "
        "+ interest to date + prepayment fee; prepayment of `principal` = payable + principal + interest to date on "
        "it + fee on it.",
    )
    def get(self, request, pk):
        loan = get_partner_object_or_404(loan_queryset(), request, pk=pk)
        query = QuoteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        with refusals():
            quote = loan_quote(loan=loan, kind=query.validated_data["kind"],
                               principal=query.validated_data.get("principal"))
        return Response(QuoteOutputSerializer(quote.as_dict()).data)


class LoanRepaymentApi(PartnerApiMixin, APIView):
    """Post a repayment of one of the partner's loans."""

    @extend_schema(
        operation_id="loans_repayments_create", request=RepaymentInputSerializer,
        responses={201: RepaymentOutputSerializer, **error_responses(400, 401, 404, 409, 422, 429)}, tags=TAGS,
        examples=[OpenApiExample("An installment", value={"amount": "1730.53", "kind": "regular",
                                                          "reference": "ACME-PAY-000123"}, request_only=True),
                  OpenApiExample("Prepay 5,000.00 of principal", value={
                      "amount": "5059.72", "kind": "prepayment", "principal": "5000.00",
                      "reference": "ACME-PAY-000124"}, request_only=True)],
        description="Posted on the current business date and allocated by the product (docs/servicing.md §4); "
        "money beyond what is payable is held as a credit balance. A payoff below its quote, or a prepayment not "
        "matching it, answers 422 naming `amount`, with the quote in `errors.quote`. Send an `Idempotency-Key`; "
        "a repayment is also posted once per `reference`.",
    )
    @idempotent(required=True)
    def post(self, request, pk):
        # The loan's own row only: the service locks and reads it again with its schedule.
        loan = get_partner_object_or_404(Loan.objects.only("pk", "partner_id"), request, pk=pk)
        serializer = RepaymentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with refusals():
            repayment = repayment_post(loan=loan, amount=data["amount"], kind=data["kind"],
                                       principal=data.get("principal"), reference=data["reference"], actor=None,
                                       source=RepaymentSource.API)
        if (repayment.amount, repayment.kind, repayment.source) != (data["amount"], data["kind"], RepaymentSource.API):
            message = _("A repayment with this reference exists already.")
            raise Conflict(error_body("conflict", message, {"reference": [message]}))
        on = repayment.value_date if hasattr(repayment, "posted_loan") else business_date()
        body = RepaymentOutputSerializer(repayment, context={"business_date": on}).data
        return Response(body, status=http.HTTP_201_CREATED)


class LoanTransactionsApi(PartnerApiMixin, GenericAPIView):
    """The loan's money events, oldest first: disbursement, repayments, credit balance applied,
    refunds."""

    serializer_class = TransactionSerializer

    @extend_schema(operation_id="loans_transactions", responses={200: TransactionSerializer(many=True),
                                                                 **error_responses(401, 404, 429)}, tags=TAGS,
                   description="The loan's money events in value-date order, paginated: the disbursement, each "
                   "repayment with its allocation, credit balance applied to a falling-due installment, refunds.")
    def get(self, request, pk):
        loan = get_partner_object_or_404(loan_queryset(), request, pk=pk)
        page = self.paginate_queryset(loan_transactions(loan=loan))
        return self.get_paginated_response(TransactionSerializer(page, many=True).data)
