"""Input and output of the partner API's credit-line changes."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from creditfactory.core.api import fields
from servicing.models import CreditLineChange, CreditLineChangeKind


# A rate change (调价) is the credit growth review's (workflows.services.credit_growth), not requested here.
REQUESTABLE_KINDS = [(value, label) for value, label in CreditLineChangeKind.choices
                     if value != CreditLineChangeKind.RATE]


class LineChangeInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=REQUESTABLE_KINDS)
    new_limit = fields.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False, allow_null=True,
        help_text=_("CNY, e.g. \"60000.00\": required for an increase or a decrease, absent otherwise."))
    reason = serializers.CharField(max_length=500, help_text=_("Why the change is asked for."))

    def validate(self, attrs):
        if attrs["kind"] in (CreditLineChangeKind.INCREASE, CreditLineChangeKind.DECREASE) \
                and attrs.get("new_limit") is None:
            raise serializers.ValidationError({"new_limit": [_("Give the new limit.")]})
        return attrs


class LineChangeOutputSerializer(serializers.ModelSerializer):
    """A change to a credit line: requested, then applied or rejected (with before and after)."""

    credit_line = serializers.IntegerField(source="credit_line_id", read_only=True)

    class Meta:
        model = CreditLineChange
        fields = ["id", "number", "credit_line", "kind", "status", "source", "new_limit", "reason", "limit_before",
                  "limit_after", "status_before", "status_after", "decision_note", "business_date", "created_at",
                  "decided_at"]
        read_only_fields = fields
