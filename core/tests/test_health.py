import copy

import pytest
from django.db import DEFAULT_DB_ALIAS, InterfaceError, connection, connections

from core import health

# The users tests' fixture: a Redis key prefix of this test's own, cleaned up afterwards.


@pytest.fixture
def unreachable_database(monkeypatch):
    """Point /healthz at a copy of the default connection whose database does not exist.

    The real driver fails to connect (OperationalError), as it would with the server down;
    only the module's own reference to the connection is swapped.
    """
    default = connections[DEFAULT_DB_ALIAS]
    settings_dict = copy.deepcopy(default.settings_dict)
    if default.vendor == "sqlite":
        settings_dict["NAME"] = "/nonexistent-directory/overworld.sqlite3"
    else:
        settings_dict["NAME"] = "overworld_healthz_no_such_database"
    broken = type(default)(settings_dict, alias="healthz-broken")
    monkeypatch.setattr(health, "connection", broken)
    yield broken
    broken.close()


@pytest.mark.django_db
def test_healthz_answers_ok_with_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_trailing_slash_is_optional(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_is_never_cached(client):
    response = client.get("/healthz")
    cache_control = response["Cache-Control"]
    assert "no-cache" in cache_control
    assert "no-store" in cache_control
    assert "max-age=0" in cache_control


@pytest.mark.django_db
def test_healthz_ignores_any_authorization_header(client, django_assert_num_queries):
    # No token lookup happens at all: the one query is the SELECT 1.
    with django_assert_num_queries(1):
        response = client.get("/healthz", HTTP_AUTHORIZATION="Token \x00garbage not-a-token")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_healthz_refuses_other_methods(client):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_healthz_answers_503_when_the_database_does_not(client, unreachable_database):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_healthz_recovers_when_the_database_returns(client, unreachable_database, monkeypatch):
    assert client.get("/healthz").status_code == 503
    monkeypatch.setattr(health, "connection", connection)
    assert client.get("/healthz").status_code == 200


class ClosedConnection:
    """A connection whose driver says it is closed, as psycopg2 does after a server restart."""

    def cursor(self):
        raise InterfaceError("connection already closed")


@pytest.mark.django_db
def test_healthz_answers_503_on_a_closed_connection(client, monkeypatch):
    monkeypatch.setattr(health, "connection", ClosedConnection())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}


# --- /readyz ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/readyz", "/readyz/"])
def test_readyz_answers_ok_when_the_database_does(client, path, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get(path, HTTP_AUTHORIZATION="Token \x00garbage")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_answers_503_naming_the_database(client, unreachable_database):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_checks_redis_where_it_is_the_cache(client, redis_cache):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_readyz_answers_503_naming_redis_when_it_is_down(client, unreachable_redis_cache):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_readyz_refuses_other_methods_with_json_405(method):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/readyz")
    assert response.status_code == 405
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}
    assert response["Allow"] == "GET, HEAD"
