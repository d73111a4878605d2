from django.contrib import admin
from django.urls import include, path, re_path

from overworld.health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/users/", include("users.urls")),
    re_path(r"^healthz/?$", healthz, name="healthz"),
]

handler400 = "overworld.errors.bad_request"
handler403 = "overworld.errors.permission_denied"
handler404 = "overworld.errors.page_not_found"
handler500 = "overworld.errors.server_error"
