"""core.statements: PostgreSQL plans the hot statements once per connection; elsewhere plain SQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.statements import Statement, execute
from core.tests.test_postgresql_backend import needs_direct_postgresql

ADD = Statement("SELECT %(a)s + %(b)s, %(a)s, '100%%'", {"a": "integer", "b": "integer"})


def test_statement_numbers_its_parameters_in_the_order_of_their_types():
    assert ADD.prepare_sql == (
        f"PREPARE {ADD.name} (integer, integer) AS SELECT $1 + $2, $1, '100%'"
    )
    assert ADD.execute_sql == f"EXECUTE {ADD.name} (%(a)s, %(b)s)"


def test_statement_name_is_the_same_for_the_same_sql_only():
    again = Statement(ADD.sql, dict(ADD.types))
    other = Statement("SELECT %(a)s", {"a": "integer"})

    assert again.name == ADD.name
    assert other.name != ADD.name
    assert ADD.name.startswith("overworld_")


def test_statement_refuses_a_parameter_without_a_type_and_a_type_without_a_parameter():
    with pytest.raises(ValueError, match="parameters"):
        Statement("SELECT %(a)s, %(b)s", {"a": "integer"})
    with pytest.raises(ValueError, match="parameters"):
        Statement("SELECT %(a)s", {"a": "integer", "b": "text"})


@pytest.mark.django_db
def test_execute_answers_what_the_plain_sql_answers():
    with connection.cursor() as cursor:
        execute(cursor, ADD, {"a": 2, "b": 40})
        prepared = cursor.fetchall()
        cursor.execute(ADD.sql, {"a": 2, "b": 40})
        plain = cursor.fetchall()

    assert prepared == plain == [(42, 2, "100%")]


@needs_direct_postgresql
@pytest.mark.django_db
def test_execute_prepares_once_per_connection_and_the_request_sees_one_query():
    statement = Statement("SELECT %(word)s || '!'", {"word": "text"})
    connection.ensure_connection()

    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        for word in ("up", "down"):
            execute(cursor, statement, {"word": word})
            assert cursor.fetchone() == (f"{word}!",)
        cursor.execute("SELECT name FROM pg_prepared_statements")
        prepared_on_the_server = {name for (name,) in cursor.fetchall()}

    assert [q["sql"] for q in queries][:2] == [
        f"EXECUTE {statement.name} ('up')",
        f"EXECUTE {statement.name} ('down')",
    ]
    assert statement.name in prepared_on_the_server
    assert statement.name in connection.prepared_statements


@needs_direct_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again():
    statement = Statement("SELECT %(n)s::int * 2", {"n": "integer"})
    with connection.cursor() as cursor:
        execute(cursor, statement, {"n": 1})
    connection.close()

    with connection.cursor() as cursor:
        assert statement.name not in connection.prepared_statements
        execute(cursor, statement, {"n": 21})
        assert cursor.fetchone() == (42,)


@needs_direct_postgresql
@pytest.mark.django_db(transaction=True)
def test_behind_a_transaction_pooler_the_sql_runs_plain(monkeypatch):
    # DJANGO_DISABLE_SERVER_SIDE_CURSORS=1 says a transaction pooler is between: no session
    # state, so no PREPARE, which the next transaction's server session would not know.
    monkeypatch.setitem(connection.settings_dict, "DISABLE_SERVER_SIDE_CURSORS", True)
    connection.close()
    try:
        with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
            execute(cursor, ADD, {"a": 1, "b": 1})
            assert cursor.fetchone() == (2, 1, "100%")
            cursor.execute("SELECT count(*) FROM pg_prepared_statements")
            assert cursor.fetchone() == (0,)
        assert connection.prepared_statements is None
        assert queries[0]["sql"] == "SELECT 1 + 1, 1, '100%'"
    finally:
        connection.close()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own path")
@pytest.mark.django_db
def test_on_sqlite_the_sql_runs_plain():
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        execute(cursor, ADD, {"a": 1, "b": 2})
        assert cursor.fetchone() == (3, 1, "100%")

    assert "PREPARE" not in queries[0]["sql"] and "EXECUTE" not in queries[0]["sql"]


@needs_direct_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_statement_the_session_already_holds_is_replaced_not_refused():
    # A server session a pooler hands on may hold the name already (PREPARE would say 42P05).
    statement = Statement("SELECT %(n)s::int + 1", {"n": "integer"})
    connection.ensure_connection()
    with connection.connection.cursor() as raw:
        raw.execute(f"PREPARE {statement.name} (integer) AS SELECT $1 + 100")

    with connection.cursor() as cursor:
        execute(cursor, statement, {"n": 1})
        assert cursor.fetchone() == (2,)


@needs_direct_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_statement_gone_from_the_session_is_prepared_again():
    statement = Statement("SELECT %(n)s::int + 2", {"n": "integer"})
    with connection.cursor() as cursor:
        execute(cursor, statement, {"n": 1})
        cursor.execute(f"DEALLOCATE {statement.name}")  # behind core.statements' back

        execute(cursor, statement, {"n": 40})
        assert cursor.fetchone() == (42,)


@needs_direct_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_plan_a_migration_made_stale_is_prepared_again():
    # A column whose type changes (an AlterField) makes PostgreSQL refuse the cached plan
    # ("cached plan must not change result type"); every later EXECUTE would fail with it.
    statement = Statement(
        "SELECT v FROM overworld_statement_probe WHERE v = %(v)s", {"v": "integer"}
    )
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE overworld_statement_probe (v integer)")
        try:
            cursor.execute("INSERT INTO overworld_statement_probe VALUES (7)")
            execute(cursor, statement, {"v": 7})
            assert cursor.fetchone() == (7,)
            cursor.execute("ALTER TABLE overworld_statement_probe ALTER COLUMN v TYPE bigint")

            execute(cursor, statement, {"v": 7})
            assert cursor.fetchone() == (7,)
            execute(cursor, statement, {"v": 7})
            assert cursor.fetchone() == (7,)
        finally:
            cursor.execute("DROP TABLE overworld_statement_probe")


@needs_direct_postgresql
@pytest.mark.django_db(transaction=True)
def test_without_kept_connections_nothing_is_prepared(monkeypatch):
    # DJANGO_CONN_MAX_AGE=0: a new connection per request, so a PREPARE would be paid per use.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    connection.close()
    try:
        connection.ensure_connection()
        assert connection.prepared_statements is None
    finally:
        connection.close()
