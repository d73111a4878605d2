"""The one place where a failing dependency (database, Redis) becomes a 503.

A database or cache that cannot be reached, drops the connection or does not answer in time is
not a bug of this application: the client gets `503 {"detail": "Service temporarily
unavailable, try again later."}` with `Retry-After`, the log gets one line per request without a
traceback, and any other exception still reaches Django's 500 path with its traceback.

Django turns an exception into a response at every layer of its handler chain (each middleware
and the view are wrapped by `convert_exception_to_response`), and DRF answers exceptions of its
own views in its exception handler. So the exception is recognised in three places that all call
`unavailable_response()` here:

- `overworld.errors.exception_handler`: DRF views (authentication, throttles, the view itself);
- `overworld.errors.server_error` (handler500): plain Django views, the admin, /healthz and any
  middleware (sessions, auth), wherever an exception escapes;
- `overworld.errors.bad_request` (handler400): Django's session middleware reports a failed
  session save as `SessionInterrupted`, a 400, with the database error as its context.

They only build the response and mark it; `DependencyFailureMiddleware`, the outermost
middleware, sees every such response, retries a safe request once when its database connection
died, and writes the log line.
"""

import logging
import re

import redis.exceptions
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections
from django.http import JsonResponse

logger = logging.getLogger("overworld.dependencies")

DETAIL = "Service temporarily unavailable, try again later."

# django.db's OperationalError covers PostgreSQL down, refused, reset or restarted connections,
# statement and lock timeouts, too many connections, and SQLite's locked-past-the-timeout,
# read-only and full database files; InterfaceError is psycopg2's "connection already closed".
# Redis: unreachable or refused (ConnectionError, which includes BusyLoadingError), no answer
# within the socket timeouts (TimeoutError), or a failover that left us on a read-only replica.
# Other DatabaseErrors (ProgrammingError, IntegrityError, DataError) are bugs or bad input.
DEPENDENCY_ERRORS = (
    OperationalError,
    InterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
)
DATABASE_ERRORS = (OperationalError, InterfaceError)

SAFE_METHODS = frozenset({"GET", "HEAD"})
# How far down __cause__/__context__ to look: Django re-raises some database errors as its own
# (a failed session save becomes UpdateError, then SessionInterrupted).
_CHAIN_DEPTH = 4


def dependency_failure(exc: BaseException | None) -> BaseException | None:
    """The database/Redis error behind `exc` (itself or what it was raised from), else None."""
    for _ in range(_CHAIN_DEPTH):
        if exc is None:
            return None
        if isinstance(exc, DEPENDENCY_ERRORS):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def unavailable_response(failure: BaseException) -> JsonResponse:
    """The 503 every route answers for `failure`, marked for DependencyFailureMiddleware."""
    response = JsonResponse({"detail": DETAIL}, status=503)
    response["Retry-After"] = str(settings.OVERWORLD_RETRY_AFTER)
    response["Cache-Control"] = "no-store"
    response.dependency_failure = failure
    # Django's own log_response would add a line with the traceback for each of these; the
    # middleware writes one line instead.
    response._has_been_logged = True
    return response


def describe(failure: BaseException) -> str:
    """`OperationalError: server closed the connection unexpectedly`, on one line."""
    message = re.sub(r"\s+", " ", str(failure)).strip()
    return f"{type(failure).__name__}: {message}"[:300]


def close_dead_connections() -> bool:
    """Close every database connection of this thread that an error left unusable.

    True when one was closed (the next query reconnects) and none is inside a transaction,
    i.e. when running the request again can succeed where it failed.
    """
    closed = False
    for conn in connections.all(initialized_only=True):
        if conn.connection is None or not conn.errors_occurred:
            continue
        if conn.in_atomic_block:
            # The request's transaction is gone with its connection: nothing to resume.
            return False
        if not conn.is_usable():
            conn.close()
            closed = True
    return closed


class DependencyFailureMiddleware:
    """Outermost middleware: retry a safe request once on a dead connection; log 503s once.

    A GET or HEAD whose database connection died (PostgreSQL restarted, a pooler or a failover
    dropped it) runs again once on a fresh connection, closing the broken one first, so that
    a restart costs a read nothing. Writes are never retried here: a write whose COMMIT reached
    the server may have been applied even though the reply was lost with the connection, and
    running it again could apply it twice (a second registration attempt answering "username
    already exists" for the client's own account, a follow toggled back) or answer as if it
    had failed. The client, which knows what it meant, retries on the 503.

    A statement timeout, a locked SQLite file or a Redis failure leaves the connection usable,
    so nothing is closed and nothing is retried: running it again would only wait again.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        failure = getattr(response, "dependency_failure", None)
        if failure is None:
            return response
        if (
            request.method in SAFE_METHODS
            and isinstance(failure, DATABASE_ERRORS)
            and close_dead_connections()
        ):
            retried = self.get_response(request)
            retry_failure = getattr(retried, "dependency_failure", None)
            if retry_failure is None:
                logger.warning(
                    "%s %s: database connection lost (%s); retried on a fresh connection: %s",
                    request.method,
                    request.path,
                    describe(failure),
                    retried.status_code,
                )
                return retried
            response, failure = retried, retry_failure
        logger.error(
            "%s %s: 503, dependency unavailable (%s)",
            request.method,
            request.path,
            describe(failure),
        )
        return response
