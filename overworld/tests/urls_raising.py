"""A test-only URLconf: the project's routes plus a plain Django view that fails."""

from django.urls import path

from overworld.urls import urlpatterns as project_urlpatterns

handler400 = "overworld.errors.bad_request"
handler500 = "overworld.errors.server_error"


def raising_view(request):
    raise RuntimeError("boom: internal detail that must not leak")


urlpatterns = [*project_urlpatterns, path("raise/", raising_view)]


def raising_operational_view(request):
    from django.db import OperationalError

    raise OperationalError("could not connect to server: Connection refused")


def touch_session_view(request):
    from django.http import JsonResponse

    request.session["seen"] = True
    return JsonResponse({})


urlpatterns += [
    path("raise-operational/", raising_operational_view),
    path("touch-session/", touch_session_view),
]
