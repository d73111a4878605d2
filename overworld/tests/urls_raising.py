"""A test-only URLconf: the project's routes plus a plain Django view that fails."""

from django.urls import path

from overworld.urls import urlpatterns as project_urlpatterns

handler500 = "overworld.errors.server_error"


def raising_view(request):
    raise RuntimeError("boom: internal detail that must not leak")


urlpatterns = [*project_urlpatterns, path("raise/", raising_view)]
