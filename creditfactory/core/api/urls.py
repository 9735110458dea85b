"""Partner-platform API routes (mounted under /api/v1/, names in the "api" namespace)."""

from django.urls import path

from . import views

urlpatterns: list = [
    path("partner", views.PartnerMeApi.as_view(), name="partner"),
    path("webhooks", views.WebhookEndpointListApi.as_view(), name="webhook-list"),
    path("webhooks/events", views.WebhookEventCatalogueApi.as_view(), name="webhook-events"),
    path("webhooks/<int:pk>", views.WebhookEndpointDetailApi.as_view(), name="webhook-detail"),
    path("webhooks/<int:pk>/ping", views.WebhookEndpointPingApi.as_view(), name="webhook-ping"),
]
