import os
import uuid

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from users.tests.factories import make_user

# The browser tests' `sync_playwright` fixture (Debian's Chromium, skipped without it off CI).
pytest_plugins = ["overworld.tests.browser"]


def pytest_collection_modifyitems(items):
    # Tests that use the database may use the replica aliases too (test mirrors of the test
    # database, see below); pytest-django allows only `default` unless told.
    from django.conf import settings

    if not settings.DATABASE_REPLICAS:
        return
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None and not DB_FIXTURES & set(getattr(item, "fixturenames", ())):
            continue
        kwargs = dict(marker.kwargs) if marker else {}
        kwargs["databases"] = ["default", *settings.DATABASE_REPLICAS]
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    # An in-memory SQLite test database is one connection that the live server thread shares,
    # which serialises its requests and hides races (users/tests/test_races.py): use a file.
    from django.conf import settings

    database = settings.DATABASES["default"]
    # With DATABASE_REPLICA_URLS set, each replica alias is a test mirror of the test database
    # (TEST MIRROR, settings.py: Django points it at the test database instead of creating one
    # on a read-only server), on the primary's server. Being the same database, it has every
    # commit at once: the router skips the lag probe and the pins, as for replicas with
    # synchronous_commit = remote_apply. Real replication: users/tests/test_replicas.py.
    for alias in settings.DATABASE_REPLICAS:
        settings.DATABASES[alias].update(
            {key: database.get(key) for key in ("HOST", "PORT", "USER", "PASSWORD")}
        )
    if settings.DATABASE_REPLICAS:
        settings.OVERWORLD_REPLICA_REMOTE_APPLY = True
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test = database.setdefault("TEST", {})
        if not test.get("NAME"):
            test["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, plus: on PostgreSQL, end the test database's other sessions first.

    DROP DATABASE refuses while anyone is connected, and a pooler in front of the server
    (PgBouncer, docs/deployment.md) keeps idle server connections to it open after the suite
    has closed its own. This does what DROP DATABASE ... WITH (FORCE) would; Django's teardown
    does not use it.
    """
    yield
    from django.db import connections

    connection = connections["default"]
    if connection.vendor != "postgresql":
        return
    connections.close_all()
    import psycopg2

    database = connection.settings_dict
    admin = psycopg2.connect(
        dbname="postgres",
        host=database["HOST"],
        port=database["PORT"] or 5432,
        user=database["USER"],
        password=database["PASSWORD"],
    )
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [database["NAME"]],
            )
    finally:
        admin.close()


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # Argon2 costs ~0.2 s per hash; tests that check the production hasher set it themselves.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


DB_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


@pytest.fixture(autouse=True)
def _empty_cache(request):
    # Throttle counters live in the cache (a database table unless REDIS_URL is set), which a
    # transactional test does not roll back: every test that can reach it starts empty.
    marker = request.node.get_closest_marker("django_db")
    used = DB_FIXTURES & set(request.fixturenames)
    if not (marker or used):
        return
    transactional = (marker and marker.kwargs.get("transaction")) or used - {"db"}
    request.getfixturevalue("transactional_db" if transactional else "db")
    cache.clear()


@pytest.fixture(autouse=True)
def _no_replicas_inside_the_test_transaction(request):
    # A test on `db` runs inside one transaction on the default connection, which no other
    # connection sees, a test mirror's included (Django: replication in tests needs
    # TransactionTestCase): its reads stay on the primary. Transactional tests (live servers,
    # races) commit, and their profile reads go through the replica aliases.
    from django.conf import settings

    if not settings.DATABASE_REPLICAS or not _runs_in_a_transaction(request):
        return
    request.getfixturevalue("settings").DATABASE_REPLICAS = []


def _runs_in_a_transaction(request) -> bool:
    """Whether the test's database work is one transaction that is rolled back (`db`)."""
    marker = request.node.get_closest_marker("django_db")
    used = DB_FIXTURES & set(request.fixturenames)
    if not (marker or used):
        return False
    return not ((marker and marker.kwargs.get("transaction")) or used - {"db"})


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return make_user(username="madeline", email="madeline@example.com")


@pytest.fixture
def other_user(db):
    return make_user(username="badeline", email="badeline@example.com")


@pytest.fixture
def auth_client(user) -> APIClient:
    """An APIClient holding a knox token of `user`."""
    from knox.models import AuthToken

    client = APIClient()
    _instance, token = AuthToken.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    client.token = token
    return client


@pytest.fixture(autouse=True)
def _writes_go_through_services():
    # Every API request's writes to the profile's tables happen inside a users.services
    # function, which pins its writer's reads (core.service_decorator;
    # users/tests/write_guard.py).
    from users.tests.write_guard import WriteWatch

    watch = WriteWatch()
    watch.start()
    yield watch
    watch.stop()
    assert not watch.violations, "writes outside a service (no read-your-writes pin):\n" + (
        "\n".join(watch.violations)
    )


# --- Redis --------------------------------------------------------------------------------------
# A Redis database number of its own and a unique key prefix per test: the server is shared.
TEST_REDIS_URL = os.environ.get("OVERWORLD_TEST_REDIS_URL", "redis://127.0.0.1:6379/3")


@pytest.fixture
def redis_url():
    """(REDIS_URL, key prefix) for this test; its keys are deleted afterwards.

    Skipped when no Redis answers, unless OVERWORLD_TESTS_REQUIRE_REDIS=1 (CI sets it).
    """
    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        if os.environ.get("OVERWORLD_TESTS_REQUIRE_REDIS") == "1":
            raise
        pytest.skip(f"no Redis at {TEST_REDIS_URL}")
    prefix = f"hrc-{uuid.uuid4().hex[:12]}"
    yield TEST_REDIS_URL, prefix
    for key in client.scan_iter(match=f"{prefix}:*", count=500):
        client.delete(key)
    client.close()


@pytest.fixture
def redis_cache(redis_url, settings):
    """The default cache is the test Redis (as with REDIS_URL set); yields (url, key prefix)."""
    url, prefix = redis_url
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    return redis_url


@pytest.fixture
def unreachable_redis_cache(settings) -> None:
    """The default cache is Redis on a port nobody listens on, with short socket timeouts."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
