"""The decision summary an application resource shows partners and customers: outcome, grade,
limit, rate and the customer-facing reasons, in the request's language. No rule, expression,
score, feature or data-source detail leaves through it."""

from django.utils.translation import get_language
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from risk.models import Decision


class DecisionSummarySerializer(serializers.ModelSerializer):
    limit = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True, allow_null=True,
                                     help_text="Credit limit granted, CNY; null unless approved or referred.")
    rate_percent = serializers.DecimalField(max_digits=12, decimal_places=6, read_only=True, allow_null=True,
                                            help_text="Priced rate in percent, in the product's basis (rate_basis).")
    reasons = serializers.SerializerMethodField(help_text="Customer-facing reasons of a reject or referral.")
    decided_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = Decision
        fields = ("outcome", "grade", "limit", "rate_percent", "rate_basis", "reasons", "decided_at")
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_reasons(self, decision: Decision) -> list[str]:
        return decision.customer_reasons(get_language() or "")
