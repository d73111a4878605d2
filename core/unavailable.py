"""The one place where a failing dependency (database, Redis) becomes a 503.

A database or cache that cannot be reached, drops the connection or does not answer in time is
not a bug of this application: the client gets `503 {"detail": "Service temporarily
unavailable, try again later."}` with `Retry-After`, the log gets one line per request without a
traceback, and any other exception still reaches Django's 500 path with its traceback.

Django turns an exception into a response at every layer of its handler chain (each middleware
and the view are wrapped by `convert_exception_to_response`), and DRF answers exceptions of its
own views in its exception handler. So the exception is recognised in three places that all call
`unavailable_response()` here:

- `core.errors.exception_handler`: DRF views (authentication, throttles, the view itself);
- `core.errors.server_error` (handler500): plain Django views, the admin, /healthz and any
  middleware (sessions, auth), wherever an exception escapes;
- `core.errors.bad_request` (handler400): Django's session middleware reports a failed
  session save as `SessionInterrupted`, a 400, with the database error as its context.

They only build the response and mark it; `DependencyFailureMiddleware`, the outermost
middleware, sees every such response, retries a safe request once when its database connection
died, and writes the log line.
"""

import logging
import re
import time

import redis.exceptions
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError, connections
from django.http import JsonResponse, RawPostDataException, UnreadablePostError

from core import metrics
from core.compat import errors_occurred, in_atomic_block

logger = logging.getLogger("core.unavailable")

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
    return response


class DjangoRequestLogFilter(logging.Filter):
    """On the `django.request` logger: leaves out Django's records of a dependency 503.

    Django logs every 4xx/5xx response, and a response built for an exception with that
    exception's traceback; DependencyFailureMiddleware writes one line of its own for these.
    A record is left out when it is a 503 raised from a database/Redis failure (the exception
    paths: handler500, handler400), or a 503 answered to a request the middleware has logged.
    Every other record passes, a 500's traceback included.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) != 503:
            return True
        if record.exc_info and dependency_failure(record.exc_info[1]) is not None:
            return False
        request = getattr(record, "request", None)
        return getattr(request, "dependency_failure", None) is None


def body_can_be_read_again(request) -> bool:
    """Whether a second run of `request` would find its body: Django keeps what it read.

    `request.body` reads the body into memory (at most DATA_UPLOAD_MAX_MEMORY_SIZE, which
    RequestBodyLimitMiddleware enforces) and keeps it; it raises RawPostDataException when the
    first run streamed the body from the socket instead (DRF's multipart parser does).
    """
    try:
        request.body  # noqa: B018 - read for its side effect: the body is kept for a re-run
    except (RawPostDataException, RequestDataTooBig, UnreadablePostError, ValueError):
        # ValueError: a Content-Length Django cannot parse.
        return False
    return True


def describe(failure: BaseException) -> str:
    """`OperationalError: server closed the connection unexpectedly`, on one line."""
    message = re.sub(r"\s+", " ", str(failure)).strip()
    return f"{type(failure).__name__}: {message}"[:300]


def failed_connections() -> list | None:
    """This thread's database connections that an error left closed or unusable, closed now.

    None when running the request again cannot help: no connection failed (a Redis error), or
    one failed but still works (a statement timeout, a locked SQLite file: running it again
    would only wait again), or a transaction was open (it is gone with its connection).
    """
    failed = []
    for conn in connections.all(initialized_only=True):
        if not errors_occurred(conn) or conn.alias in settings.DATABASE_REPLICAS:
            # A replica's failure was the router's to absorb (the read was redone on the
            # primary, the replica skipped for a while): waiting for it would only delay
            # the retry on the primary.
            continue
        if in_atomic_block(conn):
            return None
        if conn.connection is None:
            failed.append(conn)  # the connect itself failed: the server is down or restarting
        elif not conn.is_usable():
            conn.close()  # the server, a pooler or a failover dropped it
            failed.append(conn)
    return failed or None


def nothing_reached_a_database() -> bool:
    """True when no connection of this thread is open: the request's first connect failed."""
    return all(conn.connection is None for conn in connections.all(initialized_only=True))


def wait_for_databases(failed: list, seconds: float) -> bool:
    """Reconnect every connection in `failed`, trying for up to `seconds`; True when they are."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            for conn in failed:
                conn.ensure_connection()
            return True
        except DATABASE_ERRORS:
            for conn in failed:
                conn.close()
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))


class DependencyFailureMiddleware:
    """Outermost middleware: run a request again once when its database connection failed.

    A GET or HEAD whose database connection was dead or refused (PostgreSQL restarting, a
    pooler or a failover dropping connections) waits for the database, up to
    OVERWORLD_DB_RETRY_WAIT seconds, and runs once more on a fresh connection, so that a
    restart costs a read nothing. The broken connection is closed first.

    Other methods are not retried blindly: a write whose COMMIT reached the server may have
    been applied even though the reply was lost with the connection, and running it again
    could apply it twice or answer as if it had failed (a registration answering "username
    already exists" for the client's own new account). They run again only when the very first
    connect of the request failed, so that not one statement reached a database; otherwise the
    503 stands and the client, which knows what it meant, decides.

    Every dependency 503 that is finally answered is logged here, once, without a traceback.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        failure = getattr(response, "dependency_failure", None)
        if failure is None:
            return response
        if isinstance(failure, DATABASE_ERRORS):
            retried = self.retry(request, failure)
            if retried is not None:
                response = retried
                failure = getattr(retried, "dependency_failure", None)
                if failure is None:
                    return response
        # Django's own record of this response is left out (DjangoRequestLogFilter).
        request.dependency_failure = failure
        metrics.dependency_failed(failure)
        logger.error(
            "%s %s: 503, dependency unavailable (%s)",
            request.method,
            request.path,
            describe(failure),
        )
        return response

    def retry(self, request, failure):
        """The response of a second run of `request`, or None when it must not run again."""
        unsent = nothing_reached_a_database()
        if request.method not in SAFE_METHODS and not unsent:
            return None
        if not body_can_be_read_again(request):
            return None
        failed = failed_connections()
        if failed is None:
            return None
        if not wait_for_databases(failed, settings.OVERWORLD_DB_RETRY_WAIT):
            return None
        response = self.get_response(request)
        if getattr(response, "dependency_failure", None) is None:
            logger.warning(
                "%s %s: database connection %s (%s); retried on a fresh connection: %s",
                request.method,
                request.path,
                "refused" if unsent else "lost",
                describe(failure),
                response.status_code,
            )
        return response
