"""Slow clients cannot starve `./scripts/serve.sh` (issue 15): the four phases, one at a time.

`./scripts/serve.sh` itself is started, exactly as the README runs it, on a throwaway SQLite
database that holds a 100,000-follower profile (bench/slow_clients.py seed) and on a free port
(OVERWORLD_TEST_PORTS when set). bench/slow_clients.py then runs, for PHASE_SECONDS each:
2,000 idle connections; 1,000 clients sending a header line every 2 s; 333 clients sending a
200-byte login body a byte every 2 s; 100 clients reading the big profile 1 KiB every 0.5 s;
while a visitor fetches a profile on a fresh connection every 50 ms. Each phase must keep
>= 99 % of the visitor's requests answered 200 with p99 <= 250 ms; idle connections and header
dribblers must be cut off by the header timeout (10 s, overworld/serve-nginx.conf) within the
phase; body dribblers never reach gunicorn (nginx reads a whole body before passing it on, and
cuts a body only when it pauses longer than 10 s between two reads: nginx has no deadline for a
whole body); and the served processes' memory must stay bounded. Since a body dribbler is
held, one client address may have at most 1,000 requests in progress: the next is a JSON 429
while other clients are served.

The latency targets hold on a quiet 2-core machine, as CI's is. On a machine other work keeps
busy (the report's foreign_cores: cores busy outside the served processes and this test) they
say nothing about the server: outside CI, a phase with more than FOREIGN_CORES busy elsewhere
skips its latency assertions, with the numbers in the reason. In CI they always apply.

Why 15 s a phase: every slow client is open within about a second, the 10 s timeouts cut them
off before the phase ends, and 300 visitor requests make the 99th percentile the 4th-slowest
request rather than the slowest. The whole test takes about 80 s.

    ./scripts/test.sh -m slow_clients -s    (prints the report)

Marked `slow_clients` so CI runs it once (in the SQLite pass).
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from bench import slow_clients
from overworld.env import foreign_environment
from users.tests.live import CONNECTIONS_PER_CLIENT, assert_one_client_is_capped, free_port

pytestmark = [pytest.mark.slow_clients, pytest.mark.live]

PHASE_SECONDS = 15
HEADER_TIMEOUT = 10  # overworld/serve-nginx.conf, client_header_timeout
FOREIGN_CORES = 0.5
# The served processes (proxy, app server master and workers) at rest take about 200 MiB; 100
# slow readers of a 0.6 MB profile add at most their buffered responses. A leak per connection
# (2,000 of them) would pass this bound quickly.
PEAK_RSS_MIB = 600


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("slow-clients")
    port = free_port()
    env = foreign_environment()
    env.update(
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        OVERWORLD_BIND=f"127.0.0.1:{port}",
        VENV=str(Path(sys.executable).parent.parent),
        DJANGO_STATIC_ROOT=str(tmp / "static"),
    )
    seeded = subprocess.run(
        [sys.executable, "bench/slow_clients.py", "seed"],
        cwd=settings.BASE_DIR,
        env={**env, "DJANGO_SECRET_KEY": "slow-clients-seed-key-0123456789abcdefghijklmnop"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr
    log_path = tmp / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["bash", "scripts/serve.sh"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/users/madeline", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve.sh did not answer:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.5)
        yield base, server.pid, log_path
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="module")
def report(served):
    base, pid, _log = served
    at_rest = slow_clients.rss_bytes(slow_clients.process_tree(pid)) / 2**20
    result = slow_clients.run(
        base,
        slow_clients.PHASES,
        PHASE_SECONDS,
        visitor_path="/api/users/madeline",
        reader_path="/api/users/celeb100000",
        pid=pid,
    )
    result["rss_at_rest_mib"] = round(at_rest, 1)
    print(json.dumps(result, indent=2))
    return result


@pytest.mark.parametrize("phase", slow_clients.PHASES)
def test_slow_clients_leave_the_visitor_answered(report, phase):
    outcome = report[phase]
    assert outcome["opened"] == outcome["slow_clients"], outcome
    assert outcome["visitor_requests"] >= PHASE_SECONDS / slow_clients.VISITOR_INTERVAL * 0.9
    if outcome["foreign_cores"] > FOREIGN_CORES and not os.environ.get("CI"):
        pytest.skip(
            f"{outcome['foreign_cores']} cores busy with other work during the phase: "
            f"{outcome['visitor_ok_share']:.1%} answered 200, p99 {outcome['visitor_p99_ms']} ms"
        )
    assert outcome["visitor_ok_share"] >= 0.99, outcome
    assert outcome["visitor_p99_ms"] <= 250, outcome


@pytest.mark.parametrize("phase", ["idle", "headers"])
def test_slow_clients_are_cut_off_after_the_header_timeout(report, phase):
    outcome = report[phase]
    assert outcome["still_open_at_end"] == 0, outcome
    assert outcome["cut_off"] == outcome["slow_clients"], outcome
    assert outcome["cut_after_s_max"] <= HEADER_TIMEOUT + 2, outcome


def test_slow_clients_bodies_never_reach_gunicorn(served, report):
    _base, _pid, log_path = served
    # gunicorn logs every request it serves; nobody but the body dribblers sends a login.
    assert report["body"]["opened"] == report["body"]["slow_clients"]
    assert "POST /api/users/login/" not in log_path.read_text(errors="replace")


def test_slow_clients_keep_the_served_memory_bounded(report):
    peaks = {phase: report[phase]["peak_rss_mib"] for phase in slow_clients.PHASES}
    assert max(peaks.values()) <= PEAK_RSS_MIB, (report["rss_at_rest_mib"], peaks)


def test_slow_clients_gone_the_server_answers_as_before(served, report):
    base, _pid, _log = served
    with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
        assert answer.status == 200
        assert json.loads(answer.read()) == {"status": "ok"}


def test_slow_clients_serve_sh_refuses_an_oversized_body_with_the_apps_json_413(served):
    base, _pid, _log = served
    request = urllib.request.Request(
        f"{base}/api/users/login/",
        data=b"x" * (2 * 1024 * 1024),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 413
    assert refused.value.headers["Content-Type"] == "application/json"
    assert json.loads(refused.value.read()) == {"detail": "Request body is too large."}


def test_slow_clients_one_client_cannot_hold_every_connection(served):
    # A body dribbler is held, not cut (nginx has no whole-body deadline): without a cap one
    # host could hold all of nginx's connections for less than 1 KB/s. 127.0.0.0/8 is this
    # machine: two source addresses are two clients to nginx.
    base, _pid, _log = served
    report = slow_clients.per_client_cap(
        base, CONNECTIONS_PER_CLIENT, source="127.0.0.4", other="127.0.0.5"
    )
    assert_one_client_is_capped(report)
