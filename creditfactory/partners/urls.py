"""Partner-platform API routes (mounted under /api/v1/, names in the "api" namespace)."""

from django.urls import path

from . import api

urlpatterns: list = [
    path("partner", api.PartnerMeApi.as_view(), name="partner"),
    path("webhooks", api.WebhookEndpointListApi.as_view(), name="webhook-list"),
    path("webhooks/events", api.WebhookEventCatalogueApi.as_view(), name="webhook-events"),
    path("webhooks/<int:pk>", api.WebhookEndpointDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/ping", api.WebhookEndpointPingApi.as_view(), name="webhook-ping"),
]
