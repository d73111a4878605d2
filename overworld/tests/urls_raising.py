"""A test-only URLconf: the project's routes plus plain Django views that fail."""

from django.http import JsonResponse
from django.urls import path

from overworld.urls import urlpatterns as project_urlpatterns

handler500 = "overworld.errors.server_error"


def raising_view(request):
    raise RuntimeError("boom: internal detail that must not leak")


def unsafe_view(request):
    # Not CSRF-exempt: a POST without a CSRF token fails Django's check before it runs.
    return JsonResponse({"ran": True})


urlpatterns = [
    *project_urlpatterns,
    path("raise/", raising_view),
    path("form/", unsafe_view),
]
