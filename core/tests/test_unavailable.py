"""A database or Redis that fails is a JSON 503 with Retry-After on every route, logged once.

The failures are real where a test can make them so (a dead PostgreSQL connection, a held
SQLite write lock, a read-only SQLite connection, a statement timeout, a Redis port nobody
listens on) and raised from the code path otherwise; either way the exception classes are the
drivers' own. The same tests run on SQLite and on PostgreSQL.
"""

import functools
import json
import logging
import sqlite3
import threading

import pytest
import redis
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.backends.db import SessionStore
from django.db import InterfaceError, OperationalError, connection
from rest_framework.test import APIClient

from core import unavailable
from core.unavailable import DETAIL, DependencyFailureMiddleware
from users import views
from users.models import Follow
from users.tests.factories import DEFAULT_PASSWORD, make_user
from users.views import FollowView

needs_sqlite = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's own failure modes"
)
needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="a PostgreSQL server-side failure"
)


@pytest.fixture(autouse=True)
def _primary_only(settings):
    # These tests fail the primary. With a replica configured (CI's PgBouncer run), the profile
    # read would first absorb a failure as the replica's own and redo it on the primary
    # (core.replicas; users/tests/test_replicas.py tests that path).
    settings.DATABASE_REPLICAS = []


def fail_with(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


def assert_unavailable(response, settings) -> None:
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": DETAIL}
    assert response["Retry-After"] == str(settings.OVERWORLD_RETRY_AFTER)
    assert response["Cache-Control"] == "no-store"


def dependency_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "core.unavailable"]


def committed_madeline_and_badeline() -> APIClient:
    """Both users, committed (a transactional test), and a client authenticated as madeline
    that answers as a server would."""
    madeline = make_user(username="madeline", email="madeline@example.com")
    make_user(username="badeline", email="badeline@example.com")
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(madeline)
    return client


class FailingMiddleware:
    """Stands for any middleware that touches the database (sessions, auth) and finds it gone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise OperationalError("could not connect to server: Connection refused")


# --- One answer on every path ---------------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        OperationalError("server closed the connection unexpectedly"),
        OperationalError("canceling statement due to statement timeout"),
        InterfaceError("connection already closed"),
        redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379."),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
    ],
    ids=["pg-closed", "pg-timeout", "interface", "redis-down", "redis-timeout"],
)
def test_dependency_failure_in_api_view_answers_503(
    raising_client, user, monkeypatch, settings, failure
):
    monkeypatch.setattr(views, "profile_document", fail_with(failure))

    response = raising_client.get("/api/users/madeline")

    assert_unavailable(response, settings)


def test_dependency_failure_in_token_authentication_answers_503(
    raising_client, auth_client, monkeypatch, settings
):
    monkeypatch.setattr(
        "users.authentication.TokenAuthentication.authenticate",
        fail_with(OperationalError("terminating connection due to administrator command")),
    )
    raising_client.credentials(HTTP_AUTHORIZATION=f"Token {auth_client.token}")

    response = raising_client.get("/api/users/user/")

    assert_unavailable(response, settings)


@pytest.mark.urls("core.tests.urls_raising")
def test_dependency_failure_in_plain_django_view_answers_503(raising_client, db, settings):
    response = raising_client.get("/raise-operational/")

    assert_unavailable(response, settings)


@pytest.mark.parametrize("path", ["/api/users/madeline", "/admin/", "/healthz", "/nothing/here"])
def test_dependency_failure_in_a_middleware_answers_503(raising_client, user, settings, path):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.FailingMiddleware"]

    response = raising_client.get(path)

    assert_unavailable(response, settings)


def test_dependency_failure_loading_the_admin_session_answers_503(
    raising_client, user, monkeypatch, settings
):
    monkeypatch.setattr(SessionStore, "load", fail_with(OperationalError("connection refused")))
    raising_client.cookies["sessionid"] = "a" * 32

    response = raising_client.get("/admin/")

    assert_unavailable(response, settings)


@pytest.mark.urls("core.tests.urls_raising")
def test_dependency_failure_saving_a_session_answers_503(raising_client, db, monkeypatch, settings):
    # Django's session middleware reports a failed save as SessionInterrupted, a 400.
    def save(self, must_create=False):
        try:
            raise OperationalError("could not connect to server")
        except OperationalError as exc:
            raise UpdateError from exc

    monkeypatch.setattr(SessionStore, "save", save)

    response = raising_client.get("/touch-session/")

    assert_unavailable(response, settings)


@pytest.mark.urls("core.tests.urls_raising")
def test_other_errors_still_answer_500_with_their_traceback_logged(raising_client, db, caplog):
    response = raising_client.get("/raise/")

    assert response.status_code == 500
    assert response.json() == {"detail": "A server error occurred."}
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert not dependency_records(caplog)


def test_dependency_failure_is_logged_once_without_traceback(
    raising_client, user, monkeypatch, caplog
):
    monkeypatch.setattr(
        views,
        "profile_document",
        fail_with(OperationalError("server closed the connection unexpectedly\n\tThis...")),
    )

    raising_client.get("/api/users/madeline")

    [record] = dependency_records(caplog)
    assert record.levelno == logging.ERROR
    assert record.exc_info is None
    assert record.getMessage() == (
        "GET /api/users/madeline: 503, dependency unavailable "
        "(OperationalError: server closed the connection unexpectedly This...)"
    )
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_dependency_failure_in_a_middleware_is_logged_once_without_traceback(
    raising_client, db, settings, caplog
):
    # Django logs the response it builds for an exception with its traceback (handler500's
    # path); that record is left out, the middleware's line stays.
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.FailingMiddleware"]

    raising_client.get("/healthz")

    [record] = dependency_records(caplog)
    assert record.exc_info is None
    assert record.getMessage() == (
        "GET /healthz: 503, dependency unavailable "
        "(OperationalError: could not connect to server: Connection refused)"
    )
    assert not [r for r in caplog.records if r.name == "django.request"]


def test_health_503_is_still_logged_by_django(client, db, monkeypatch, caplog):
    # Only the dependency 503s are left out of django.request: /healthz answering 503 for a
    # database that does not answer is an ordinary response, logged as Django logs any 503.
    from core import health

    monkeypatch.setattr(health, "database_answers", lambda: False)

    assert client.get("/healthz").status_code == 503

    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage() == "Service Unavailable: /healthz"


def test_redis_down_answers_login_503_and_every_other_route_works(
    api_client, user, settings, unreachable_redis_cache
):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "5/day"},
    }

    login = api_client.post(
        "/api/users/login/", {"username": "madeline", "password": DEFAULT_PASSWORD}, format="json"
    )
    profile = api_client.get("/api/users/madeline")

    assert_unavailable(login, settings)
    assert profile.status_code == 200


# --- Retry of safe requests on a dead connection ----------------------------------------------


class FlakyOnce:
    """Raises `failure` on the first call only, then behaves like `original`."""

    def __init__(self, original, failure):
        self.original, self.failure, self.calls = original, failure, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            raise self.failure
        return self.original(*args, **kwargs)

    def __get__(self, instance, owner):
        return functools.partial(self, instance)


def test_safe_request_on_dead_connection_is_retried_once(api_client, user, monkeypatch, caplog):
    flaky = FlakyOnce(views.profile_document, OperationalError("server closed the connection"))
    monkeypatch.setattr(views, "profile_document", flaky)
    monkeypatch.setattr(unavailable, "failed_connections", lambda: [])

    response = api_client.get("/api/users/madeline")

    assert response.status_code == 200
    assert response.json()["username"] == "madeline"
    assert flaky.calls == 2
    [record] = dependency_records(caplog)
    assert record.levelno == logging.WARNING
    assert "retried on a fresh connection: 200" in record.getMessage()


def test_safe_request_is_retried_at_most_once(raising_client, user, monkeypatch, settings):
    calls = []

    def fail(*args, **kwargs):
        calls.append(1)
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(views, "profile_document", fail)
    monkeypatch.setattr(unavailable, "failed_connections", lambda: [])

    response = raising_client.get("/api/users/madeline")

    assert_unavailable(response, settings)
    assert len(calls) == 2


def test_write_on_dead_connection_is_not_retried(
    raising_client, auth_client, other_user, monkeypatch, settings
):
    flaky = FlakyOnce(FollowView.post, OperationalError("server closed the connection"))
    monkeypatch.setattr(FollowView, "post", flaky)
    monkeypatch.setattr(unavailable, "failed_connections", lambda: [])
    raising_client.credentials(HTTP_AUTHORIZATION=f"Token {auth_client.token}")

    response = raising_client.post("/api/users/follow/", {"username": "badeline"}, format="json")

    assert_unavailable(response, settings)
    assert flaky.calls == 1


def test_write_whose_first_connect_failed_is_retried(
    api_client, auth_client, other_user, monkeypatch
):
    # Not one statement reached the database, so running the write again cannot double it.
    flaky = FlakyOnce(FollowView.post, OperationalError("connection refused"))
    monkeypatch.setattr(FollowView, "post", flaky)
    monkeypatch.setattr(unavailable, "failed_connections", lambda: [])
    monkeypatch.setattr(unavailable, "nothing_reached_a_database", lambda: True)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {auth_client.token}")

    response = api_client.post("/api/users/follow/", {"username": "badeline"}, format="json")

    assert response.status_code == 200
    assert flaky.calls == 2
    assert Follow.objects.filter(follower__username="madeline").count() == 1


@pytest.mark.parametrize(
    ("body_format", "retried"),
    # DRF reads JSON and form bodies through request.body, which keeps them for a second run;
    # a multipart body is streamed from the socket once and cannot be run again.
    [("json", True), ("multipart", False)],
)
def test_login_whose_first_connect_failed_is_retried_if_its_body_can_be_read_again(
    raising_client, user, monkeypatch, settings, body_format, retried
):
    from users import services

    calls = []
    real_authenticate = services.authenticate

    def refuse_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("connection refused")
        return real_authenticate(*args, **kwargs)

    monkeypatch.setattr(services, "authenticate", refuse_once)
    monkeypatch.setattr(unavailable, "failed_connections", lambda: [])
    monkeypatch.setattr(unavailable, "nothing_reached_a_database", lambda: True)

    response = raising_client.post(
        "/api/users/login/",
        {"username": "madeline", "password": DEFAULT_PASSWORD},
        format=body_format,
    )

    if retried:
        assert response.status_code == 200
        assert set(response.json()) == {"user", "token"}
        assert len(calls) == 2
    else:
        assert_unavailable(response, settings)
        assert len(calls) == 1


def test_retry_gives_up_when_the_database_stays_away(raising_client, user, monkeypatch, settings):
    settings.OVERWORLD_DB_RETRY_WAIT = 0.2
    calls = []

    class Refusing:
        def ensure_connection(self):
            calls.append(1)
            raise OperationalError("connection refused")

        def close(self):
            pass

    monkeypatch.setattr(views, "profile_document", fail_with(OperationalError("refused")))
    monkeypatch.setattr(unavailable, "failed_connections", lambda: [Refusing()])

    response = raising_client.get("/api/users/madeline")

    assert_unavailable(response, settings)
    assert len(calls) >= 2  # tried again until the wait was over, then gave up


def test_request_is_not_retried_when_the_connection_still_works(
    raising_client, user, monkeypatch, settings
):
    # A statement timeout leaves a usable connection: running the query again would only wait
    # again, so nothing is closed and the 503 stands.
    flaky = FlakyOnce(views.profile_document, OperationalError("canceling statement"))
    monkeypatch.setattr(views, "profile_document", flaky)

    response = raising_client.get("/api/users/madeline")

    assert_unavailable(response, settings)
    assert flaky.calls == 1


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_postgresql_connection_killed_between_requests_costs_a_read_nothing(
    api_client, caplog, direct_postgresql
):
    make_user(username="madeline", email="madeline@example.com")
    assert api_client.get("/api/users/madeline").status_code == 200
    kill_backend_of(connection)

    response = api_client.get("/api/users/madeline")

    assert response.status_code == 200
    assert response.json()["username"] == "madeline"
    [record] = dependency_records(caplog)
    assert "retried on a fresh connection: 200" in record.getMessage()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_postgresql_connection_killed_before_a_write_answers_503_unretried(
    settings, direct_postgresql
):
    client = committed_madeline_and_badeline()
    kill_backend_of(connection)
    try:
        response = client.post("/api/users/follow/", {"username": "badeline"}, format="json")
    finally:
        connection.close()

    assert_unavailable(response, settings)
    assert not Follow.objects.exists()


@pytest.fixture
def direct_postgresql():
    """Skips behind a pooler (CI's PgBouncer run), where these tests' premise does not hold.

    PgBouncer hands the client a backend pid of its own making, so there is no server process
    to kill from here, and a server connection that dies between transactions is replaced by
    the pooler without the client noticing (overworld/tests/test_faults.py restarts a real
    server instead).
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_port()")
        (server_port,) = cursor.fetchone()
    if str(server_port) != str(connection.settings_dict["PORT"] or 5432):
        pytest.skip("a pooler sits between the client and PostgreSQL")


def kill_backend_of(conn) -> None:
    """Terminate `conn`'s server process from another session, as a restart would."""
    import psycopg2

    conn.ensure_connection()
    pid = conn.connection.info.backend_pid
    params = conn.get_connection_params()
    with psycopg2.connect(**params) as killer, killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    killer.close()


@needs_postgresql
@pytest.mark.django_db(transaction=True)
def test_postgresql_statement_timeout_answers_503_and_frees_the_thread(raising_client, settings):
    import psycopg2

    make_user(username="madeline", email="madeline@example.com")
    params = connection.get_connection_params()
    locker = psycopg2.connect(**params)
    try:
        with locker.cursor() as cursor:
            cursor.execute("LOCK TABLE users_user IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = '300ms'")
        response = raising_client.get("/api/users/madeline")
    finally:
        locker.rollback()
        locker.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")

    assert_unavailable(response, settings)


def test_postgresql_settings_carry_the_timeouts():
    from overworld.tests.test_settings import SETTINGS_ONLY_KEY, run_python

    code = "import json; print(json.dumps(settings.DATABASES['default']['OPTIONS']))"
    url = "postgres://u@db.example.com/overworld"
    base = {"DJANGO_DEBUG": "1", "DATABASE_URL": url, "DJANGO_SECRET_KEY": SETTINGS_ONLY_KEY}

    default = run_python(code, **base)
    tuned = run_python(
        code, **base, OVERWORLD_DB_STATEMENT_TIMEOUT="4", OVERWORLD_DB_CONNECT_TIMEOUT="2"
    )
    off = run_python(code, **base, OVERWORLD_DB_STATEMENT_TIMEOUT="0")

    keepalives = {
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 10_000,
    }
    assert json.loads(default.stdout) == {
        "connect_timeout": 5,
        "options": "-c statement_timeout=15s",
        **keepalives,
    }, default.stderr
    assert json.loads(tuned.stdout) == {
        "connect_timeout": 2,
        "options": "-c statement_timeout=4s",
        **keepalives,
    }
    assert json.loads(off.stdout) == {"connect_timeout": 5, **keepalives}


def test_redis_cache_carries_socket_timeouts():
    from overworld.tests.test_settings import SETTINGS_ONLY_KEY, run_python

    code = "import json; print(json.dumps(settings.CACHES['default']['OPTIONS']))"
    env = {
        "DJANGO_DEBUG": "1",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DJANGO_SECRET_KEY": SETTINGS_ONLY_KEY,
    }

    default = run_python(code, **env)
    tuned = run_python(code, **env, OVERWORLD_REDIS_TIMEOUT="0.2")

    assert default.stdout.strip() == '{"socket_connect_timeout": 0.5, "socket_timeout": 0.5}'
    assert tuned.stdout.strip() == '{"socket_connect_timeout": 0.5, "socket_timeout": 0.2}'


# --- SQLite, the embedded default ------------------------------------------------------------


@needs_sqlite
@pytest.mark.django_db(transaction=True)
def test_sqlite_locked_past_its_timeout_answers_503(settings):
    client = committed_madeline_and_badeline()
    locker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA busy_timeout = 100")
    locker.execute("BEGIN IMMEDIATE")
    try:
        response = client.post("/api/users/follow/", {"username": "badeline"}, format="json")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        connection.close()  # its busy timeout back to the settings' one

    assert_unavailable(response, settings)
    assert not Follow.objects.exists()


@needs_sqlite
@pytest.mark.django_db(transaction=True)
def test_sqlite_read_only_database_answers_503(settings):
    client = committed_madeline_and_badeline()
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA query_only = ON")
    try:
        write = client.post("/api/users/follow/", {"username": "badeline"}, format="json")
        read = client.get("/api/users/badeline")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA query_only = OFF")

    assert_unavailable(write, settings)
    assert read.status_code == 200


@needs_sqlite
def test_sqlite_full_database_answers_503(
    raising_client, auth_client, other_user, tmp_path, monkeypatch, settings
):
    # A real "database or disk is full" from the driver (a file capped at two pages), raised
    # where the follow writes: filling the test database itself would take every test with it.
    full = sqlite3.connect(tmp_path / "full.sqlite3")
    full.execute("PRAGMA max_page_count = 1")
    with pytest.raises(sqlite3.OperationalError) as driver_error:
        full.execute("CREATE TABLE t (x)")
    full.close()
    assert str(driver_error.value) == "database or disk is full"
    monkeypatch.setattr(
        "users.services.follow", fail_with(OperationalError(str(driver_error.value)))
    )
    raising_client.credentials(HTTP_AUTHORIZATION=f"Token {auth_client.token}")

    response = raising_client.post("/api/users/follow/", {"username": "badeline"}, format="json")

    assert_unavailable(response, settings)


# --- The middleware on its own ---------------------------------------------------------------


def test_middleware_passes_ordinary_responses_through(rf):
    sentinel = object()
    middleware = DependencyFailureMiddleware(lambda request: sentinel)

    assert middleware(rf.get("/")) is sentinel


def test_concurrent_threads_each_retry_their_own_connection():
    # failed_connections only looks at the calling thread's connections (Django keeps one
    # per thread), so one thread's retry never closes a connection another thread is using.
    seen = []

    def probe():
        seen.append(unavailable.failed_connections())

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()

    assert seen == [None]
