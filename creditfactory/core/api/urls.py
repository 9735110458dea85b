"""Partner-platform API routes (mounted under /api/v1/, names in the "api" namespace)."""

urlpatterns: list = []
