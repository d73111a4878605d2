"""A test-only URLconf: the project's routes plus plain Django views that fail."""

from django.http import JsonResponse
from django.urls import path

from overworld.urls import urlpatterns as project_urlpatterns

handler400 = "core.errors.bad_request"
handler500 = "core.errors.server_error"


def raising_view(request):
    raise RuntimeError("boom: internal detail that must not leak")


def unsafe_view(request):
    # Not CSRF-exempt: a POST without a CSRF token fails Django's check before it runs.
    return JsonResponse({"ran": True})


def raising_operational_view(request):
    from django.db import OperationalError

    raise OperationalError("could not connect to server: Connection refused")


def touch_session_view(request):
    request.session["seen"] = True
    return JsonResponse({})


urlpatterns = [
    *project_urlpatterns,
    path("raise/", raising_view),
    path("form/", unsafe_view),
    path("raise-operational/", raising_operational_view),
    path("touch-session/", touch_session_view),
]
