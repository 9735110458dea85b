"""Partner-platform endpoints: who am I, and webhook endpoint management. Thin: parse, scope,
call one service."""

from django.urls import reverse
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from creditfactory.core.api.schema import error_responses

from .auth import PartnerApiMixin
from .idempotency import idempotent
from .models import WebhookEndpoint
from .scoping import get_partner_object_or_404, scope_to_partner
from .serializers import (
    PartnerOutputSerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointInputSerializer,
    WebhookEndpointOutputSerializer,
    WebhookEventTypeSerializer,
    WebhookPingOutputSerializer,
)
from .services import webhooks


class PartnerMeApi(PartnerApiMixin, APIView):
    """The calling partner: code, name, rate limit and the products it may originate."""

    @extend_schema(
        operation_id="partner_retrieve",
        responses={200: PartnerOutputSerializer, **error_responses(401, 429)},
        tags=["partner"],
    )
    def get(self, request):
        return Response(PartnerOutputSerializer(PartnerOutputSerializer.from_partner(self.partner)).data)


def _endpoint_queryset():
    return WebhookEndpoint.objects.filter(deleted_at__isnull=True).order_by("created_at", "id")


class WebhookEndpointListApi(PartnerApiMixin, GenericAPIView):
    """The partner's webhook endpoints: list and register."""

    serializer_class = WebhookEndpointOutputSerializer

    def get_queryset(self):
        return scope_to_partner(_endpoint_queryset(), self.request)

    @extend_schema(
        operation_id="webhooks_list",
        responses={200: WebhookEndpointOutputSerializer(many=True), **error_responses(400, 401, 429)},
        tags=["webhooks"],
    )
    def get(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookEndpointOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        request=WebhookEndpointInputSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **error_responses(400, 401, 409, 422, 429)},
        examples=[
            OpenApiExample(
                "Decisions and granted lines",
                value={"url": "https://partner.example.cn/hooks/creditfactory",
                       "events": ["application.decided", "line.granted"], "description": "production"},
                request_only=True,
            )
        ],
        tags=["webhooks"],
    )
    @idempotent
    def post(self, request):
        serializer = WebhookEndpointInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = webhooks.webhook_endpoint_create(partner=self.partner, **serializer.validated_data)
        body = WebhookEndpointCreatedSerializer({**_endpoint_fields(endpoint), "secret": secret}).data
        location = reverse("api:webhook-detail", kwargs={"pk": endpoint.pk})
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


def _endpoint_fields(endpoint) -> dict:
    return {name: getattr(endpoint, name) for name in ("id", "url", "events", "description", "is_active",
                                                         "created_at")}


class WebhookEndpointDetailApi(PartnerApiMixin, APIView):
    """One webhook endpoint of the partner: read or delete."""

    def get_object(self, pk):
        return get_partner_object_or_404(_endpoint_queryset(), self.request, pk=pk)

    @extend_schema(
        operation_id="webhooks_retrieve",
        responses={200: WebhookEndpointOutputSerializer, **error_responses(401, 404, 429)},
        tags=["webhooks"],
    )
    def get(self, request, pk):
        return Response(WebhookEndpointOutputSerializer(self.get_object(pk)).data)

    @extend_schema(
        operation_id="webhooks_destroy",
        responses={204: None, **error_responses(401, 404, 429)},
        tags=["webhooks"],
    )
    def delete(self, request, pk):
        webhooks.webhook_endpoint_delete(endpoint=self.get_object(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointPingApi(PartnerApiMixin, APIView):
    """Send a ``webhook.test`` event to one endpoint now."""

    @extend_schema(
        operation_id="webhooks_ping",
        request=None,
        responses={202: WebhookPingOutputSerializer, **error_responses(400, 401, 404, 409, 422, 429)},
        tags=["webhooks"],
    )
    @idempotent
    def post(self, request, pk):
        endpoint = get_partner_object_or_404(_endpoint_queryset(), request, pk=pk)
        delivery = webhooks.webhook_endpoint_ping(endpoint=endpoint)
        body = WebhookPingOutputSerializer({"event": delivery.event.uuid, "delivery": delivery.uuid}).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


class WebhookEventCatalogueApi(PartnerApiMixin, APIView):
    """The events a partner can subscribe to."""

    @extend_schema(
        operation_id="webhooks_events_list",
        responses={200: WebhookEventTypeSerializer(many=True), **error_responses(401, 429)},
        tags=["webhooks"],
    )
    def get(self, request):
        rows = [{"event": name, "description": str(text)} for name, text in webhooks.EVENT_CATALOGUE.items()]
        return Response(WebhookEventTypeSerializer(rows, many=True).data)
