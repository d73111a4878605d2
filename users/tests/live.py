"""Helpers for tests that talk HTTP to real servers: live_server or gunicorn subprocesses.

Ports come from OVERWORLD_TEST_PORTS ("18200-18299") when set, so that parallel runs on one
machine keep to their own range; otherwise the operating system picks a free one.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from django.conf import settings

from overworld.env import foreign_environment

TEST_PASSWORD = "strawberry-summit-42"
T = TypeVar("T")
_port_lock = threading.Lock()
_ports_taken: set[int] = set()


@dataclass
class Reply:
    status: int
    body: object
    raw: bytes
    headers: dict[str, str] = field(default_factory=dict)


def call(
    base_url: str,
    method: str,
    path: str,
    body: dict | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """One HTTP request on a fresh connection; the JSON body decoded when there is one."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if token:
        all_headers["Authorization"] = f"Token {token}"
    try:
        connection.request(
            method, path, body=None if body is None else json.dumps(body), headers=all_headers
        )
        response = connection.getresponse()
        raw = response.read()
        reply_headers = {name.lower(): value for name, value in response.getheaders()}
    finally:
        connection.close()
    decoded = json.loads(raw) if raw else None
    return Reply(response.status, decoded, raw, reply_headers)


def run_concurrently(calls: Iterable[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, all released at once by a barrier; results in order."""
    calls = list(calls)
    barrier = threading.Barrier(len(calls))

    def run(function: Callable[[], T]) -> T:
        barrier.wait(timeout=60)
        try:
            return function()
        finally:
            # Threads that used the ORM directly must not leak their connections.
            from django.db import connections

            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def statuses(replies: Iterable[Reply]) -> Counter:
    return Counter(reply.status for reply in replies)


def private_postgres_sql(port: int, query: str, params=None, *, database: str):
    """One statement on a private PostgreSQL cluster a test started on loopback (as postgres,
    autocommit); its first row, or None for a statement that returns none."""
    import psycopg2

    connection = psycopg2.connect(
        host="127.0.0.1", port=port, user="postgres", dbname=database, connect_timeout=5
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchone() if cursor.description else None
    finally:
        connection.close()


def register(base_url: str, name: str) -> tuple[int, str]:
    """Register `name` (email name@example.com, TEST_PASSWORD) on a live server: (id, token)."""
    reply = call(
        base_url,
        "POST",
        "/api/users/register/",
        {"username": name, "email": f"{name}@example.com", "password": TEST_PASSWORD},
    )
    assert reply.status == 200, reply.body
    return reply.body["user"]["id"], reply.body["token"]


def free_port() -> int:
    """A port nobody listens on, from OVERWORLD_TEST_PORTS when set."""
    span = os.environ.get("OVERWORLD_TEST_PORTS", "").strip()
    candidates = range(int(span.split("-")[0]), int(span.split("-")[1]) + 1) if span else [0]
    with _port_lock:
        for port in candidates:
            if port in _ports_taken:
                continue
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
                chosen = probe.getsockname()[1]
            _ports_taken.add(chosen)
            return chosen
    raise RuntimeError(f"no free port in OVERWORLD_TEST_PORTS={span}")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def unique_ip() -> str:
    """A random 10.x.y.z address: a client identity of its own for throttle tests."""
    return "10." + ".".join(str(byte) for byte in uuid.uuid4().bytes[:3])


class GunicornServer:
    """gunicorn with the project's gunicorn.conf.py (gthread), in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path, workers: int = 2, threads: int = 4):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"gunicorn-{self.port}.log"
        self.env = {
            **server_env(env),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
        }
        self.process: subprocess.Popen | None = None
        self.command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "overworld.wsgi",
        ]

    def start(self) -> "GunicornServer":
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=settings.BASE_DIR,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log()[-5000:]}")
            try:
                call(self.base_url, "GET", "/api/users/user/")
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within 120 s:\n{self.log()[-5000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        # Only this server's own process group: the arbiter and its workers.
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)

    def log(self) -> str:
        """Everything the server wrote: with an access line per request, a tail would lose
        what a test looks for among them."""
        return self.log_path.read_text(errors="replace")


class ServeScript(GunicornServer):
    """`./scripts/serve.sh` itself (nginx in front of gunicorn), in its own process group.

    Signals go to serve.sh, which passes them on (SIGHUP: gunicorn reloads; SIGTERM: nginx
    finishes what it accepted, then gunicorn); `gunicorn_master()` is the pid whose workers a
    test may kill. The demo seed is skipped; migrations run as serve.sh always runs them.
    """

    def __init__(self, env: dict[str, str], log_dir: Path, workers: int = 2, threads: int = 4):
        super().__init__(env, log_dir, workers, threads)
        self.env.pop("GUNICORN_BIND")
        self.env.update(
            OVERWORLD_BIND=f"127.0.0.1:{self.port}",
            OVERWORLD_SEED_DEMO="0",
            DJANGO_STATIC_ROOT=str(log_dir / f"static-{self.port}"),
            VENV=str(Path(sys.executable).parent.parent),
        )
        self.command = ["bash", "scripts/serve.sh"]

    def gunicorn_master(self) -> int:
        """The gunicorn arbiter under serve.sh."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        for pid in children.read_text().split():
            try:
                if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return int(pid)
            except OSError:
                continue
        raise RuntimeError("no gunicorn under serve.sh")


def server_env(overrides: dict[str, str]) -> dict[str, str]:
    """The environment of a server or manage.py subprocess: production settings, test hasher."""
    env = foreign_environment()
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "users.tests.server_settings",
            "DJANGO_SECRET_KEY": "tests-only-secret-key-for-live-servers-0123456789abcdef",
            "DJANGO_DEBUG": "0",
            "DJANGO_LOG_LEVEL": "WARNING",
            "GUNICORN_LOG_LEVEL": "warning",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    """Run a manage.py command in a subprocess with `env` (server_env applied)."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=server_env(env),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


# overworld/serve-nginx.conf and deploy/nginx/nginx.conf.template: `limit_conn per_client`.
CONNECTIONS_PER_CLIENT = 1000
TOO_MANY_CONNECTIONS = {"detail": "Too many requests in progress from this client."}


def assert_one_client_is_capped(report: dict) -> None:
    """What bench/slow_clients.per_client_cap saw in front of nginx: the client holding
    CONNECTIONS_PER_CLIENT requests is refused one more with the JSON 429; another client is
    served meanwhile, and the first again once its requests have gone."""
    assert report["failed_to_open"] == 0, report
    assert report["answered"] == 0, report  # none of them refused
    assert report["held"] == CONNECTIONS_PER_CLIENT, report  # nor cut
    status, headers, body = report["one_more"]
    assert status == 429, report["one_more"]
    assert headers["content-type"] == "application/json"
    assert headers["retry-after"] == "10"
    assert json.loads(body) == TOO_MANY_CONNECTIONS
    assert report["other_client"][0] == 200, report["other_client"]
    assert report["after_they_left"][0] == 200, report["after_they_left"]
