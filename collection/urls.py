"""API v1 routes of the collection app (mounted under /api/v1/, names in the "api" namespace)."""

urlpatterns: list = []
