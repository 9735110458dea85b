"""API v1 routes of the risk app (mounted under /api/v1/, names in the "api" namespace)."""

urlpatterns: list = []
