"""core.postgresql: Django's backend, with a health check that sends no query to a quiet socket."""

import select

import psycopg2
import pytest
from django.db import connections
from django.db.backends.postgresql import base as django_postgresql

connection = connections["default"]


def behind_a_pooler() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT inet_server_port()")
        (server_port,) = cursor.fetchone()
    return str(server_port) != str(connection.settings_dict["PORT"] or 5432)


needs_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the PostgreSQL backend"
)


def needs_direct_postgresql(test):
    """PostgreSQL without a transaction pooler (CI's PgBouncer pass sets the flag that turns
    prepared statements off, and has no server process of ours to end)."""
    return needs_postgresql(
        pytest.mark.skipif(
            bool(connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")),
            reason="behind a transaction pooler",
        )(test)
    )


@pytest.fixture
def full_checks(monkeypatch) -> list[int]:
    """Counts the `SELECT 1` checks of Django's own backend."""
    calls = []
    original = django_postgresql.DatabaseWrapper.is_usable

    def counted(self):
        calls.append(1)
        return original(self)

    monkeypatch.setattr(django_postgresql.DatabaseWrapper, "is_usable", counted)
    return calls


def end_session_from_elsewhere(conn) -> None:
    """pg_terminate_backend from another session, then wait for the FATAL on the socket."""
    pid = conn.connection.info.backend_pid
    with psycopg2.connect(**conn.get_connection_params()) as killer, killer.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    killer.close()
    readable, _, _ = select.select([conn.connection.fileno()], [], [], 10)
    assert readable, "the server did not end the session within 10 s"


@needs_postgresql
@pytest.mark.django_db
def test_engine_is_djangos_backend_subclassed():
    assert connection.settings_dict["ENGINE"] == "core.postgresql"
    assert isinstance(connection, django_postgresql.DatabaseWrapper)


@needs_postgresql
@pytest.mark.django_db
def test_quiet_connection_is_usable_without_a_query(full_checks):
    connection.ensure_connection()

    assert connection.is_usable()
    assert full_checks == []


@needs_postgresql
@pytest.mark.django_db
def test_after_an_error_the_full_check_runs(full_checks, monkeypatch):
    connection.ensure_connection()
    monkeypatch.setattr(connection, "errors_occurred", True)

    assert connection.is_usable()
    assert full_checks == [1]


@needs_direct_postgresql
@pytest.mark.django_db(transaction=True)
def test_session_ended_by_the_server_is_replaced_before_the_next_request(full_checks):
    connection.ensure_connection()
    if behind_a_pooler():
        pytest.skip("a pooler keeps the client connection when the server session ends")
    old_pid = connection.connection.info.backend_pid
    end_session_from_elsewhere(connection)

    # What the first query of a new request does (CONN_HEALTH_CHECKS): check, then reconnect.
    connection.health_check_done = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (new_pid,) = cursor.fetchone()

    assert full_checks == [1]
    assert new_pid != old_pid
