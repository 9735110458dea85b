"""Input and output serializers of the partner-platform endpoints."""

from django.conf import settings
from rest_framework import serializers

from creditfactory.core.api.fields import NameField

from .services.webhooks import EVENT_CATALOGUE


class PartnerProductSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField(help_text="draft, active or retired; only active products accept applications.")
    version = serializers.IntegerField(
        allow_null=True, help_text="Current published version; applications are made under it."
    )


class PartnerOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    rate_limit = serializers.CharField(help_text="Requests allowed per period, e.g. 120/min.")
    require_signature = serializers.BooleanField()
    products = PartnerProductSerializer(many=True)

    @staticmethod
    def from_partner(partner) -> dict:
        products = partner.products.select_related("current_version").order_by("code")
        return {
            "code": partner.code,
            "name": partner.name,
            "kind": partner.kind,
            "rate_limit": partner.throttle_rate or settings.PARTNER_DEFAULT_THROTTLE_RATE,
            "require_signature": partner.require_signature,
            "products": [
                {
                    "code": product.code,
                    "name": product.name,
                    "status": product.status,
                    "version": product.current_version.version if product.current_version_id else None,
                }
                for product in products
            ],
        }


class WebhookEndpointInputSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=sorted(EVENT_CATALOGUE)), min_length=1, max_length=len(EVENT_CATALOGUE)
    )
    description = NameField(max_length=200, required=False, allow_blank=True, default="")


class WebhookEndpointOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class WebhookEndpointCreatedSerializer(WebhookEndpointOutputSerializer):
    secret = serializers.CharField(
        help_text="Signs every delivery to this endpoint (X-CF-Signature). Shown in this response only."
    )


class WebhookEventTypeSerializer(serializers.Serializer):
    event = serializers.CharField()
    description = serializers.CharField()


class WebhookPingOutputSerializer(serializers.Serializer):
    event = serializers.UUIDField(help_text="Id of the webhook.test event (the body's `id`).")
    delivery = serializers.UUIDField(help_text="X-CF-Delivery of the delivery.")
