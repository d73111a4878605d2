"""GET /healthz (liveness) and GET /readyz (readiness), for probes and load balancers.

Plain Django views, not DRF ones: no authentication class runs, so no Authorization header is
ever parsed (a load balancer's probe carries none, and a garbage one must not matter), and no
throttle, session or CSRF check is touched (another method is a JSON 405). Neither is ever cached.

- /healthz: is this process able to serve, i.e. does its database answer? One `SELECT 1` on the
  connection the requests use.
- /readyz: may traffic be sent here? The database and, where REDIS_URL is set, Redis each
  answer within their timeouts (OVERWORLD_DB_CONNECT_TIMEOUT, OVERWORLD_REDIS_*_TIMEOUT);
  503 naming the one that does not, so an orchestrator takes the instance out of rotation
  while a dependency is gone and puts it back when it returns.
"""

import logging

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import Error as DatabaseDriverError
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from redis.exceptions import RedisError

from core.unavailable import describe
from core.views import json_methods

logger = logging.getLogger(__name__)


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseDriverError as exc:
        # Any driver error: OperationalError (server down, refused, timed out) but also
        # InterfaceError ("connection already closed"), which is not a DatabaseError. Logged
        # for the operator in one line, answered as a plain 503 without the error text.
        logger.warning("the database does not answer: %s", describe(exc))
        return False
    return True


# A key nobody writes: reading it is one round trip to Redis, like a PING.
PROBE_KEY = "readyz-probe"


def redis_answers() -> bool | None:
    """True/False when the default cache is Redis, None when there is no Redis to ask."""
    cache = caches["default"]
    if not isinstance(cache, RedisCache):
        return None
    try:
        # Through the cache's own connection pool, so its socket timeouts (settings) bound
        # the wait on a hung Redis, and what is checked is what the throttle will use.
        cache.get(PROBE_KEY)
    except (RedisError, OSError) as exc:
        logger.warning("Redis does not answer: %s", describe(exc))
        return False
    return True


@never_cache
@json_methods("GET", "HEAD")
def healthz(request):
    if database_answers():
        return JsonResponse({"status": "ok"})
    return JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)


@never_cache
@json_methods("GET", "HEAD")
def readyz(request):
    checks = {"database": database_answers()}
    redis_ok = redis_answers()
    if redis_ok is not None:
        checks["redis"] = redis_ok
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable"}
    body.update({name: "ok" if ok else "unavailable" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if ready else 503)
