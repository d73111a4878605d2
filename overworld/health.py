"""GET /healthz: is this process able to serve, i.e. does its database answer?

A plain Django view, not a DRF one: no authentication class runs, so no Authorization header
is ever parsed (a load balancer's probe carries none, and a garbage one must not matter), and
no throttle, session or CSRF check is touched (another method is a JSON 405). One `SELECT 1` on
the connection the requests use.
"""

import logging

from django.db import Error as DatabaseDriverError
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from overworld.errors import json_methods

logger = logging.getLogger(__name__)


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseDriverError:
        # Any driver error: OperationalError (server down, refused, timed out) but also
        # InterfaceError ("connection already closed"), which is not a DatabaseError. Logged
        # for the operator, answered as a plain 503 to the probe without the error text.
        logger.warning("healthz: the database does not answer", exc_info=True)
        return False
    return True


@never_cache
@json_methods("GET", "HEAD")
def healthz(request):
    if database_answers():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
