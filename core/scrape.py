"""GET /metrics: Prometheus scrapes the families of core.metrics here, with a bearer token.

Apart from the families because it is a view, with its own rules (who may read, what a
scrape sums over), and the families are imported by every module that counts.
"""

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from rest_framework.exceptions import MethodNotAllowed

from core import metrics_files
from core.metrics import REGISTRY


def authorized(request) -> bool:
    """`Authorization: Bearer <OVERWORLD_METRICS_TOKEN>`, compared in constant time."""
    token = settings.OVERWORLD_METRICS_TOKEN
    if not token:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


def exposition() -> bytes:
    """The text format of every family, summed over all workers when there are several."""
    if metrics_files.directory() is None:
        return generate_latest(REGISTRY)
    metrics_files.forget_dead_processes()
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return generate_latest(registry)


@csrf_exempt
def metrics_view(request):
    """GET /metrics (Bearer OVERWORLD_METRICS_TOKEN): the Prometheus text format.

    Anyone else, and everyone while the token is unset, gets the 404 of an unknown route
    (handler404), whatever the method. No database, session or throttle is touched; the answer
    is never cached. A method other than GET or HEAD, with the token: the JSON 405 of every
    other route.
    """
    if not authorized(request):
        raise Http404
    if request.method not in ("GET", "HEAD"):
        response = JsonResponse({"detail": MethodNotAllowed(request.method).detail}, status=405)
        response["Allow"] = "GET, HEAD"
        return response
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
    response["Cache-Control"] = "no-store"
    return response
