"""Input and output of the calculator, shared by the API and the back-office page."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from creditfactory.core.api import fields
from products.models import LoanProduct, ProductStatus, RateBasis, RepaymentMethod, TermUnit

CALCULATOR_METHODS = [
    RepaymentMethod.EQUAL_INSTALLMENT,
    RepaymentMethod.EQUAL_PRINCIPAL,
    RepaymentMethod.INTEREST_FIRST,
    RepaymentMethod.BULLET,
    RepaymentMethod.REVOLVING,
]


class CalculatorInputSerializer(serializers.Serializer):
    principal = fields.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"),
                                         help_text=_("Loan principal in CNY, e.g. \"100000.00\"."))
    annual_rate_percent = fields.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal("0"), max_value=Decimal("1000"), required=False,
        help_text=_("Annual rate in percent (6.0 = 6 % a year). Give this or daily_rate_percent."))
    daily_rate_percent = fields.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal("0"), max_value=Decimal("3"), required=False,
        help_text=_("Daily rate in percent (0.05 = 0.05 % a day). Give this or annual_rate_percent."))
    term = fields.IntegerField(min_value=1, max_value=600)
    term_unit = serializers.ChoiceField(choices=TermUnit.choices, default=TermUnit.MONTHS)
    method = serializers.ChoiceField(choices=[(m.value, m.label) for m in CALCULATOR_METHODS])
    start_date = serializers.DateField()
    first_due_date = serializers.DateField(required=False, help_text=_("Optional first due date."))
    upfront_fee_percent = fields.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal("0"), max_value=Decimal("99.99"), required=False,
        help_text=_("Upfront fee as a percent of principal, deducted at disbursement. Defaults to the product's "
                    "fee, else 0."))
    interest_every_months = serializers.ChoiceField(
        choices=[1, 3], required=False, help_text=_("Interest-first only: interest every 1 or 3 months."))
    product = serializers.SlugRelatedField(
        slug_field="code", queryset=LoanProduct.objects.filter(status=ProductStatus.ACTIVE).select_related(
            "current_version"), required=False,
        help_text=_("Optional product code: checks the product's ranges and uses its conventions."))

    def validate(self, attrs):
        annual, daily = attrs.get("annual_rate_percent"), attrs.get("daily_rate_percent")
        if annual is not None and daily is not None:
            message = _("Give either annual_rate_percent or daily_rate_percent, not both.")
            raise serializers.ValidationError({"annual_rate_percent": [message], "daily_rate_percent": [message]})
        if annual is None and daily is None:
            message = _("Give annual_rate_percent or daily_rate_percent.")
            raise serializers.ValidationError({"annual_rate_percent": [message], "daily_rate_percent": [message]})
        if "interest_every_months" in attrs and attrs["method"] != RepaymentMethod.INTEREST_FIRST:
            raise serializers.ValidationError(
                {"interest_every_months": [_("Only interest-first loans pay interest on their own schedule.")]})
        return attrs

    def calculation_kwargs(self) -> dict:
        data = self.validated_data
        annual = data.get("annual_rate_percent")
        product = data.get("product")
        return {
            "principal": data["principal"],
            "rate_percent": annual if annual is not None else data["daily_rate_percent"],
            "rate_basis": RateBasis.ANNUAL if annual is not None else RateBasis.DAILY,
            "term": data["term"],
            "term_unit": data["term_unit"],
            "method": data["method"],
            "start_date": data["start_date"],
            "first_due_date": data.get("first_due_date"),
            "upfront_fee_percent": data.get("upfront_fee_percent"),
            "interest_every_months": int(data["interest_every_months"]) if "interest_every_months" in data else None,
            "product_version": product.current_version if product else None,
        }


def money(value: Decimal) -> str:
    return f"{value:.2f}"


class InstallmentSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_date = serializers.DateField()
    principal = serializers.CharField(help_text=_("CNY, two decimals."))
    interest = serializers.CharField()
    fee = serializers.CharField()
    payment = serializers.CharField()
    remaining_principal = serializers.CharField()


class ScheduleOutputSerializer(serializers.Serializer):
    installments = InstallmentSerializer(many=True)
    total_principal = serializers.CharField()
    total_interest = serializers.CharField()
    total_fee = serializers.CharField()
    total_payment = serializers.CharField()
    upfront_fee = serializers.CharField()
    net_disbursed = serializers.CharField()
    apr_percent = serializers.CharField(help_text=_("Nominal APR: periodic IRR × periods per year, in percent."))
    effective_annual_rate_percent = serializers.CharField(help_text=_("Effective annual rate from the IRR."))
    product = serializers.CharField(allow_null=True)
    product_version = serializers.IntegerField(allow_null=True)


def quote_to_dict(quote) -> dict:
    schedule = quote.schedule
    return {
        "installments": [
            {
                "number": item.number,
                "due_date": item.due_date.isoformat(),
                "principal": money(item.principal),
                "interest": money(item.interest),
                "fee": money(item.fee),
                "payment": money(item.payment),
                "remaining_principal": money(item.remaining_principal),
            }
            for item in schedule.installments
        ],
        "total_principal": money(schedule.total_principal),
        "total_interest": money(schedule.total_interest),
        "total_fee": money(schedule.total_fee),
        "total_payment": money(schedule.total_payment),
        "upfront_fee": money(schedule.upfront_fee),
        "net_disbursed": money(schedule.net_disbursed),
        "apr_percent": f"{quote.apr.nominal_percent:.2f}",
        "effective_annual_rate_percent": f"{quote.apr.effective_percent:.2f}",
        "product": quote.product_version.code if quote.product_version else None,
        "product_version": quote.product_version.version if quote.product_version else None,
    }
