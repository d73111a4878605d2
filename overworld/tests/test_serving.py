"""The production serving path, end to end: collectstatic, then gunicorn with debug off.

One gunicorn process on a free port of 18400-18499, a throwaway SQLite file and STATIC_ROOT,
so nothing of the checkout is touched. About two seconds.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from overworld.env import foreign_environment

PORTS = range(18400, 18500)


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.fail("no free port in 18400-18499")


def fetch(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def gunicorn_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serving")
    env = foreign_environment()
    port = free_port()
    env.update(
        DJANGO_SECRET_KEY="serving-test-key-0123456789abcdef0123456789abcdef",
        DJANGO_DEBUG="0",
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    log_path = tmp / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "overworld.wsgi"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if fetch(f"{base}/healthz?ready")[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base, log_path
    finally:
        server.terminate()
        server.wait(timeout=30)


def access_lines(log_path: Path, marker: str) -> list[str]:
    # Access lines look like: 127.0.0.1 "GET /healthz?probe-1 HTTP/1.1" 200 16 3ms
    return [line for line in log_path.read_text().splitlines() if f" {marker} HTTP/" in line]


@pytest.mark.live
def test_serving_admin_css_comes_from_whitenoise_with_debug_off(gunicorn_server):
    base, _log = gunicorn_server
    status, headers, body = fetch(f"{base}/static/admin/css/base.css")
    assert status == 200
    assert headers["Content-Type"].startswith("text/css")
    assert b"body" in body


@pytest.mark.live
def test_serving_debug_is_off(gunicorn_server):
    base, _log = gunicorn_server
    status, headers, body = fetch(f"{base}/no-such-page")
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"detail": "Not found."}


@pytest.mark.live
def test_serving_writes_one_access_log_line_per_request(gunicorn_server):
    base, log_path = gunicorn_server
    paths = [f"/healthz?probe-{n}" for n in range(3)] + ["/static/admin/css/base.css?probe"]
    for path in paths:
        fetch(base + path)
    time.sleep(0.2)  # the access log is written after the response is sent
    for path in paths:
        lines = access_lines(log_path, path)
        assert len(lines) == 1, lines
    assert '"GET /healthz?probe-0 HTTP/1.1" 200' in access_lines(log_path, paths[0])[0]


@pytest.mark.parametrize(
    ("variable", "other"),
    [
        ("GUNICORN_BIND", {}),
        ("OVERWORLD_BIND", {"GUNICORN_BIND": "127.0.0.1:1"}),  # the neutral name wins
    ],
)
def test_serve_sh_with_its_port_taken_stops_before_migrating_in_one_line(tmp_path, variable, other):
    database = tmp_path / "db.sqlite3"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        bind = f"127.0.0.1:{holder.getsockname()[1]}"
        result = subprocess.run(
            ["bash", "scripts/serve.sh"],
            cwd=settings.BASE_DIR,
            env={
                "PATH": os.environ["PATH"],
                "HOME": os.environ.get("HOME", "/tmp"),
                **other,
                variable: bind,
                "DATABASE_URL": f"sqlite:///{database}",
                "VENV": str(Path(sys.executable).parent.parent),
            },
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert result.returncode == 1
    port = int(bind.rpartition(":")[2])
    # The message names the variable that was used.
    assert result.stderr == (
        f"serve.sh: cannot listen on {bind} (Address already in use); serve elsewhere with "
        f"{variable}=127.0.0.1:{port + 1} ./scripts/serve.sh\n"
    )
    assert not database.exists()  # nothing migrated or seeded
