"""Fixtures of the users tests: a logged-in admin, real servers (gunicorn subprocesses)."""

import os

import dj_database_url
import pytest
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test import Client
from django.test.testcases import LiveServerThread

from users.tests.factories import make_user
from users.tests.live import GunicornServer, free_port, manage


def suite_database() -> dict:
    return dj_database_url.parse(os.environ.get("DATABASE_URL") or "sqlite:///unused.sqlite3")


def suite_uses_postgresql() -> bool:
    return suite_database()["ENGINE"] == "django.db.backends.postgresql"


@pytest.fixture
def admin_client_() -> Client:
    """A test client logged in as the superuser "root" (the admin tests)."""
    admin = make_user(username="root", email="root@example.com", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin)
    return client


class WideBacklogWSGIServer(ThreadedWSGIServer):
    # Django's live server listens with a backlog of 10: 32 simultaneous connects overflow it
    # and some are reset by the kernel before the server sees them.
    request_queue_size = 128


class RaceServerThread(LiveServerThread):
    server_class = WideBacklogWSGIServer


@pytest.fixture
def race_server(transactional_db):
    """The base URL of a threaded live server: one thread and database connection per request.

    pytest-django's live_server, with a listen backlog wide enough for the race tests. The SQLite
    test database is a file (root conftest), so no connection is shared with the test.
    """
    thread = RaceServerThread("127.0.0.1", StaticFilesHandler, port=free_port())
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    yield f"http://127.0.0.1:{thread.port}"
    thread.terminate()


@pytest.fixture(scope="session")
def server_database(tmp_path_factory) -> dict[str, str]:
    """The environment of gunicorn subprocesses for a migrated database of the suite's kind,
    dropped at the end.

    Servers in other processes cannot see pytest-django's test database inside its transaction,
    so they get their own: a temporary SQLite file, or on PostgreSQL a throwaway database on the
    DATABASE_URL's server, reached as the suite reaches it: behind a transaction pooler (CI's
    PgBouncer pass) with the suite's DJANGO_DISABLE_SERVER_SIDE_CURSORS, which also keeps the
    server from preparing statements the pooler cannot keep (core.statements). Tests keep apart
    by using unique names, not by flushing it.
    """
    if not suite_uses_postgresql():
        env = {"DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('server-db') / 'db.sqlite3'}"}
        manage(env, "migrate", "--noinput")
        yield env
        return

    import psycopg2
    from psycopg2 import sql

    suite = suite_database()
    name = f"{suite['NAME']}_live_{os.getpid()}"[:63]
    admin = psycopg2.connect(
        dbname="postgres",
        user=suite["USER"],
        password=suite["PASSWORD"],
        host=suite["HOST"],
        port=suite["PORT"] or 5432,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        credentials = suite["USER"] + (f":{suite['PASSWORD']}" if suite["PASSWORD"] else "")
        port = suite["PORT"] or 5432
        env = {"DATABASE_URL": f"postgres://{credentials}@{suite['HOST']}:{port}/{name}"}
        pooled = os.environ.get("DJANGO_DISABLE_SERVER_SIDE_CURSORS")
        if pooled:
            env["DJANGO_DISABLE_SERVER_SIDE_CURSORS"] = pooled
        manage(env, "migrate", "--noinput")
        yield env
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()


@pytest.fixture
def start_server(tmp_path):
    """start_server(env) -> a running GunicornServer; every one is stopped after the test."""
    servers = []

    def start(env: dict[str, str], workers: int = 2, threads: int = 4) -> GunicornServer:
        server = GunicornServer(env, tmp_path, workers=workers, threads=threads)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
