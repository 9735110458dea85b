"""API v1 routes of the collection app (mounted under /api/v1/, names in the "api" namespace)."""

from django.urls import path

from .api import AgencyCaseDetailApi, AgencyCaseListApi, AgencyContactApi

urlpatterns = [
    path("collection/cases", AgencyCaseListApi.as_view(), name="collection-case-list"),
    path("collection/cases/<int:pk>", AgencyCaseDetailApi.as_view(), name="collection-case-detail"),
    path("collection/cases/<int:pk>/contacts", AgencyContactApi.as_view(), name="collection-case-contacts"),
]
