"""URL map: back office at /, Django admin at /admin/, API under /api/."""

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from viewflow.contrib.auth import AuthViewset

from workflows.backoffice.cockpit import CockpitView

from .backoffice import site
from .core.api.errors import api_not_found

API_URL_MODULES = ("creditfactory.partners.urls", "products.urls", "risk.urls", "workflows.urls", "servicing.urls",
                   "collection.urls")
api_v1 = [path("", include(module)) for module in API_URL_MODULES]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", AuthViewset(with_profile_view=False, allow_password_change=True).urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include((api_v1, "api"), namespace="api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    re_path(r"^api/", api_not_found),  # the API's own 404 for unrouted API paths
    path("cockpit/", CockpitView.as_view(), name="cockpit"),  # a phone page outside the Site's layout
    path("", include("creditfactory.core.urls")),
    path("", site.urls),
]
# MEDIA is never served as static files, not even under DEBUG: stored documents are personal data
# and go out only through the back office's download view (login, permission, branch scope).

# The refusal page explains and links back (creditfactory.core.refusal).
handler403 = "creditfactory.core.refusal.permission_denied"
