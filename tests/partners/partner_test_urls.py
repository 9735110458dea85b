"""A test-only URLconf: a staff endpoint with the project's default authentication and
permission classes, next to the real API (used with ``@pytest.mark.urls``)."""

from django.urls import include, path
from rest_framework.response import Response
from rest_framework.views import APIView


class StaffOnlyApi(APIView):
    def get(self, request):
        return Response({"user": request.user.get_username()})


urlpatterns = [
    path("staff-only", StaffOnlyApi.as_view()),
    path("", include("creditfactory.urls")),
]
