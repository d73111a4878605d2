"""The project's routes plus /bench/floor/, the DRF floor every ratio is taken against."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from overworld.urls import *  # noqa: F403
from overworld.urls import urlpatterns as project_urlpatterns


class FloorView(APIView):
    """A bare DRF view: no authentication, no permission check, no database."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"status": "ok", "service": "overworld", "floor": True})


urlpatterns = [path("bench/floor/", FloorView.as_view()), *project_urlpatterns]
