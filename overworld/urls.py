from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.health import healthz, readyz
from core.scrape import metrics_view
from core.views import MethodCheckedFirst


class SchemaView(MethodCheckedFirst, SpectacularAPIView):
    """GET /api/schema/ (public): the OpenAPI schema, YAML (`?format=json`: JSON)."""


class DocsView(MethodCheckedFirst, SpectacularSwaggerView):
    """GET /api/docs/ (public): Swagger UI on the schema."""


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/users/", include("users.urls")),
    path("api/schema/", SchemaView.as_view(), name="schema"),
    path("api/docs/", DocsView.as_view(url_name="schema"), name="docs"),
    re_path(r"^healthz/?$", healthz, name="healthz"),
    re_path(r"^readyz/?$", readyz, name="readyz"),
    re_path(r"^metrics/?$", metrics_view, name="metrics"),
]

handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
