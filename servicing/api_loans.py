"""Partner API: booked loans (贷款) — one loan with its funding and schedule, and the list of the
partner's loans filtered by credit line and status. Another partner's ids answer 404."""

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from creditfactory.core.api import fields
from creditfactory.core.money import quantize_fen
from creditfactory.core.api.schema import error_responses
from creditfactory.partners.auth import PartnerApiMixin
from creditfactory.partners.scoping import get_partner_object_or_404, scope_to_partner

from .models import InstallmentStatus, LoanStatus
from .selectors.loans import loan_balances, loan_filter, loan_queryset
from .services.calendar import business_date

TAGS = ["loans"]

# The API's loan statuses (the database says "closed" for a loan paid off).
API_STATUSES = {LoanStatus.ACTIVE: "active", LoanStatus.OVERDUE: "overdue", LoanStatus.CLOSED: "paid_off",
                LoanStatus.WRITTEN_OFF: "written_off"}
STATUS_CHOICES = [(api, LoanStatus(db).label) for db, api in API_STATUSES.items()]


def _money(**kwargs):
    return serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, **kwargs)


def _percent(**kwargs):
    return serializers.DecimalField(max_digits=12, decimal_places=6, read_only=True, **kwargs)


class LoanStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=STATUS_CHOICES, read_only=True, **kwargs)

    def to_representation(self, value):
        return API_STATUSES.get(value, value)


class LoanFundingSerializer(serializers.Serializer):
    funder = serializers.CharField(source="funder.code", read_only=True, help_text=_("Funder code."))
    share_percent = _percent(help_text=_("The funder's share of the loan, percent."))
    principal = _money(help_text=_("The funder's part of the principal, CNY (the lead funder takes the rounding "
                                   "rest)."))


class LoanInstallmentSerializer(serializers.Serializer):
    number = serializers.IntegerField(read_only=True)
    due_date = serializers.DateField(read_only=True)
    principal = _money()
    interest = _money()
    fee = _money()
    payment = _money()
    remaining_principal = _money()
    penalty = _money(source="penalty_accrued", help_text=_("Penalty interest (罚息) accrued on it so far."))
    paid_principal = _money(source="principal_paid")
    paid_interest = _money(source="interest_paid")
    paid_fee = _money(source="fee_paid")
    paid_penalty = _money(source="penalty_paid")
    status = serializers.ChoiceField(choices=InstallmentStatus.choices, read_only=True)

    def to_representation(self, i) -> dict:
        """The fields above, written out directly: a loan of 360 installments would otherwise
        spend most of its ``GET`` in DRF's per-field machinery (bench/loan_get.py). The same names,
        order and formats (amounts with two decimals, dates ISO) — tests/servicing/test_loans_api.py
        compares it with the generic rendering."""
        return {"number": i.number, "due_date": i.due_date.isoformat(), "principal": _fen(i.principal),
                "interest": _fen(i.interest), "fee": _fen(i.fee), "payment": _fen(i.payment),
                "remaining_principal": _fen(i.remaining_principal), "penalty": _fen(i.penalty_accrued),
                "paid_principal": _fen(i.principal_paid), "paid_interest": _fen(i.interest_paid),
                "paid_fee": _fen(i.fee_paid), "paid_penalty": _fen(i.penalty_paid), "status": i.status}


def _fen(value) -> str:
    """An amount as the API writes it: a string with two decimals, ROUND_HALF_UP (as DRF's
    ``DecimalField(decimal_places=2)`` with the project's decimal rounding)."""
    return f"{quantize_fen(value):.2f}"


class LoanBalancesSerializer(serializers.Serializer):
    principal_outstanding = _money(help_text=_("Principal not yet repaid."))
    principal_overdue = _money(help_text=_("Unpaid principal of overdue installments."))
    interest_overdue = _money(help_text=_("Unpaid interest of overdue installments."))
    penalty_outstanding = _money(help_text=_("Penalty interest accrued and not paid."))
    fee_outstanding = _money(help_text=_("Fees due and not paid."))
    total_payable = _money(help_text=_("What is payable on the current business date (docs/servicing.md §4)."))
    credit_balance = _money(help_text=_("Money paid beyond what was payable, held for the borrower."))


class LoanOutputSerializer(serializers.Serializer):
    """A booked loan as its partner sees it: terms, funding parts and the schedule (the
    calculator's names)."""

    id = serializers.IntegerField(read_only=True)
    number = serializers.CharField(read_only=True)
    drawdown = serializers.IntegerField(source="drawdown_id", read_only=True)
    credit_line = serializers.IntegerField(source="credit_line_id", read_only=True)
    product = serializers.CharField(source="product_version.product.code", read_only=True)
    status = LoanStatusField()
    principal = _money()
    value_date = serializers.DateField(read_only=True)
    maturity_date = serializers.DateField(read_only=True)
    rate_percent = _percent(help_text=_("The contract rate, percent a year or a day (rate_basis)."))
    rate_basis = serializers.CharField(read_only=True)
    repayment_method = serializers.CharField(read_only=True)
    term = serializers.IntegerField(read_only=True)
    term_unit = serializers.CharField(read_only=True)
    upfront_fee = _money()
    apr_percent = _percent(allow_null=True, help_text=_("Nominal APR (IRR method), percent."))
    dpd = serializers.IntegerField(source="days_past_due", read_only=True, help_text=_("Days past due."))
    balances = serializers.SerializerMethodField()
    funding = LoanFundingSerializer(source="parts", many=True, read_only=True)
    installments = LoanInstallmentSerializer(many=True, read_only=True)

    def get_fields(self):
        # Parts of the loan owned by apps above servicing (the collections' "collection"):
        # ``LOAN_REPRESENTATION_EXTRAS`` maps a key to the dotted path of a field factory.
        fields = super().get_fields()
        for name, path in settings.LOAN_REPRESENTATION_EXTRAS.items():
            fields[name] = import_string(path)()
        return fields

    @extend_schema_field(LoanBalancesSerializer)
    def get_balances(self, loan) -> dict:
        return LoanBalancesSerializer(loan_balances(loan=loan, on=self.context.get("business_date"))).data


class LoanListQuerySerializer(serializers.Serializer):
    credit_line = fields.IntegerField(min_value=1, required=False, help_text=_("Only loans of this credit line."))
    status = serializers.ChoiceField(choices=STATUS_CHOICES, required=False)
    limit = fields.IntegerField(min_value=1, required=False, help_text=_("Page size (default 50)."))
    offset = fields.IntegerField(min_value=0, required=False)

    def filters(self) -> dict:
        data = self.validated_data
        status = {api: db for db, api in API_STATUSES.items()}.get(data.get("status"))
        return {"credit_line": data.get("credit_line"), "status": status}


class LoanDetailApi(PartnerApiMixin, APIView):
    """One loan of the calling partner (another partner's id answers 404)."""

    @extend_schema(
        operation_id="loans_retrieve",
        responses={200: LoanOutputSerializer, **error_responses(401, 404, 429)},
        tags=TAGS,
    )
    def get(self, request, pk):
        loan = get_partner_object_or_404(loan_queryset(), request, pk=pk)
        return Response(LoanOutputSerializer(loan, context={"business_date": business_date()}).data)


class LoanListApi(PartnerApiMixin, GenericAPIView):
    """The partner's loans, newest value date first, filtered by credit line and status."""

    serializer_class = LoanOutputSerializer

    def get_queryset(self):
        return scope_to_partner(loan_queryset(), self.request)

    @extend_schema(
        operation_id="loans_list",
        parameters=[LoanListQuerySerializer],
        responses={200: LoanOutputSerializer(many=True), **error_responses(400, 401, 429)},
        tags=TAGS,
    )
    def get(self, request):
        query = LoanListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        page = self.paginate_queryset(loan_filter(self.get_queryset(), **query.filters()))
        return self.get_paginated_response(LoanOutputSerializer(page, many=True,
                                                                context={"business_date": business_date()}).data)
