import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from users.tests.factories import make_user


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    # An in-memory SQLite test database is one connection that the live server thread shares,
    # which serialises its requests and hides races (users/tests/test_races.py): use a file.
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test = database.setdefault("TEST", {})
        if not test.get("NAME"):
            test["NAME"] = str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")


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


@pytest.fixture
def api_client() -> APIClient:
    return APIClient(SERVER_NAME="localhost")


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

    client = APIClient(SERVER_NAME="localhost")
    _instance, token = AuthToken.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    client.token = token
    return client
