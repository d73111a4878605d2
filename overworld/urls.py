from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/users/", include("users.urls")),
]

handler400 = "overworld.errors.bad_request"
handler403 = "overworld.errors.permission_denied"
handler404 = "overworld.errors.page_not_found"
handler500 = "overworld.errors.server_error"
