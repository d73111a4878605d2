"""Fault injection: the API under load while its PostgreSQL, Redis and gunicorn falter.

A PRIVATE PostgreSQL cluster (initdb as user postgres, in a temporary directory, on a free port)
and a private redis-server (on a free port) are started here, and the API is served by the
project's gunicorn.conf.py against them; the machine's shared services are never touched. A few
client threads keep a bounded load (profile reads, one of a 5,000-follower profile, `user/`
with a token, follow/unfollow, logins; every request with a client timeout) while one fault at
a time is injected. The table it prints is in docs/deployment.md ("When a dependency fails").

    OVERWORLD_TEST_PORTS=18200-18299 ./scripts/test.sh -m faults -s

Skipped when PostgreSQL's server binaries or redis-server are missing or this does not run as
root or postgres, except in CI (CI set), where it must run.
"""

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from users.tests.live import ServeScript, free_port, manage, server_env

pytestmark = [pytest.mark.faults, pytest.mark.live]

PG_BIN = Path(os.environ.get("OVERWORLD_PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "strawberry-summit-42"
DETAIL = "Service temporarily unavailable, try again later."
# Long enough for a reload on a busy 2-core machine (new workers boot while old ones stop
# accepting), short enough that a hung request fails the test.
CLIENT_TIMEOUT = 10.0
THREADS = 6
FOLLOWERS_OF_POPULAR = 5000
# How long after a worker's death a request may still be sent to it (worker_killed).
KILL_GRACE = 0.5


def prerequisites_missing() -> str | None:
    if not (PG_BIN / "initdb").exists():
        return f"no PostgreSQL server binaries in {PG_BIN} (OVERWORLD_PG_BIN)"
    if shutil.which("redis-server") is None:
        return "no redis-server on PATH"
    if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
        return "initdb/pg_ctl must run as user postgres: run as root or postgres"
    return None


def as_postgres(*args: str) -> list[str]:
    return list(args) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]


class PrivatePostgres:
    def __init__(self, root: Path):
        self.root = root
        self.data = root / "pgdata"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/overworld_faults"

    def run(self, *args: str, timeout: float = 60) -> None:
        # Output to a file, not a pipe: a postmaster that pg_ctl starts inherits it and would
        # hold a pipe open after pg_ctl returns.
        with open(self.root / "commands.log", "ab") as log:
            subprocess.run(
                as_postgres(*args),
                check=True,
                stdout=log,
                stderr=log,
                timeout=timeout,
                cwd=self.root,
            )

    def pg_ctl(self, *args: str) -> None:
        self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), *args)

    def start(self, action: str = "start") -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} "
            "-c fsync=off -c max_connections=60"
        )
        self.pg_ctl(
            "-w", "-m", "fast", "-l", str(self.root / "postgres.log"), "-o", options, action
        )

    def restart(self) -> None:
        self.start("restart")

    def setup(self) -> None:
        self.data.mkdir()
        shutil.chown(self.data, "postgres", "postgres") if os.geteuid() == 0 else None
        self.run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        self.run(
            str(PG_BIN / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "overworld_faults",
        )

    def teardown(self) -> None:
        try:
            self.pg_ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass


class PrivateRedis:
    def __init__(self, root: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(root),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        client.close()

    def teardown(self) -> None:
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class Result:
    op: str
    start: float
    end: float
    status: int | None  # None: no answer (timeout, connection reset or refused)
    error: str = ""
    json_ok: bool = True


def request(base: tuple[str, int], method: str, path: str, body=None, token=None) -> tuple:
    """(status, decoded body or None, headers) or raises OSError/HTTPException."""
    connection = http.client.HTTPConnection(*base, timeout=CLIENT_TIMEOUT)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    try:
        connection.request(method, path, None if body is None else json.dumps(body), headers)
        response = connection.getresponse()
        raw = response.read()
        return response.status, raw, dict(response.getheaders())
    finally:
        connection.close()


@dataclass
class Client:
    """One load thread: its own user and token, toggling one follow until told to stop."""

    index: int
    username: str
    token: str
    target: str
    base: tuple[str, int]
    results: list[Result]
    lock: threading.Lock
    following: bool = False  # the state the last acknowledged follow/unfollow left
    pending: str | None = None  # a follow/unfollow sent without an acknowledgement
    # Whether the server may have received the pending one: not when every attempt was refused
    # or reset before gunicorn accepted the connection.
    pending_sent: bool = False
    ops: list[str] = field(
        default_factory=lambda: ["profile", "popular", "me", "write", "profile", "login"]
    )

    def one(self, op: str) -> Result:
        start = time.monotonic()
        if op == "profile":
            call = ("GET", f"/api/users/{self.target}", None, None)
        elif op == "popular":
            call = ("GET", "/api/users/popular", None, None)
        elif op == "me":
            call = ("GET", "/api/users/user/", None, self.token)
        elif op == "login":
            call = (
                "POST",
                "/api/users/login/",
                {"username": self.username, "password": PASSWORD},
                None,
            )
        else:
            # Repeat an unacknowledged follow/unfollow until it is acknowledged (both are
            # idempotent), so that the final state of every pair is known exactly.
            action = self.pending or ("unfollow" if self.following else "follow")
            self.pending = action
            call = ("POST", f"/api/users/{action}/", {"username": self.target}, self.token)
        try:
            status, raw, headers = request(self.base, *call)
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
            if op == "write" and error not in ("ConnectionRefusedError", "ConnectionResetError"):
                self.pending_sent = True
            return Result(op, start, time.monotonic(), None, error)
        end = time.monotonic()
        json_ok = True
        if status >= 500:
            json_ok = (
                status == 503
                and headers.get("Content-Type") == "application/json"
                and json.loads(raw) == {"detail": DETAIL}
                and "Retry-After" in headers
            )
        if op == "login" and status == 200:
            # Logging in revokes the oldest token beyond the per-user limit: use the new one.
            self.token = json.loads(raw)["token"]
        if op == "write":
            self.pending_sent = True
        if op == "write" and status == 200:
            self.following = self.pending == "follow"
            self.pending, self.pending_sent = None, False
        return Result(op, start, end, status, json_ok=json_ok)

    def run(self, stop: threading.Event) -> None:
        n = self.index
        while not stop.is_set():
            result = self.one(self.ops[n % len(self.ops)])
            n += 1
            with self.lock:
                self.results.append(result)
            if result.status is None and result.error == "ConnectionRefusedError":
                time.sleep(0.05)  # the server is gone (SIGTERM): do not spin


@dataclass
class Row:
    fault: str
    requests: int
    ok: int
    unavailable: int
    errors_500: int
    no_answer: int
    slowest: float
    recovery: float | None
    note: str = ""


class Harness:
    def __init__(self, server: ServeScript, clients: list[Client], results: list[Result]):
        self.server = server
        self.clients = clients
        self.results = results
        self.base = clients[0].base
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=c.run, args=(self.stop,)) for c in clients]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=CLIENT_TIMEOUT * 2)

    def wait_ready(self, limit: float = 15.0) -> float:
        """Seconds until /readyz and a profile read answer 200 quickly, five times running.

        Five in a row: after a reload the old workers answer one last probe before they exit,
        and the new ones take a moment to boot.
        """
        start = time.monotonic()
        streak, first = 0, 0.0
        while time.monotonic() - start < limit:
            t0 = time.monotonic()
            try:
                fine = (
                    request(self.base, "GET", "/readyz")[0] == 200
                    and request(self.base, "GET", "/api/users/popular")[0] == 200
                    and time.monotonic() - t0 < 0.5
                )
            except (OSError, http.client.HTTPException):
                fine = False
            if fine:
                streak += 1
                first = t0 if streak == 1 else first
                if streak == 5:
                    return first - start
            else:
                streak = 0
                time.sleep(0.05)
        raise AssertionError(f"not ready {limit} s after the fault:\n{self.server.log()[-5000:]}")

    def phase(self, name: str, inject, settle: float = 1.0, note: str = "") -> tuple[Row, list]:
        time.sleep(settle)
        with_lock = len(self.results)
        inject()
        recovery = self.wait_ready()
        time.sleep(settle)
        window = self.results[with_lock:]
        row = Row(
            fault=name,
            requests=len(window),
            ok=sum(1 for r in window if r.status is not None and r.status < 500),
            unavailable=sum(1 for r in window if r.status == 503),
            errors_500=sum(
                1 for r in window if r.status is not None and r.status != 503 and r.status >= 500
            ),
            no_answer=sum(1 for r in window if r.status is None),
            slowest=max((r.end - r.start for r in window), default=0.0),
            recovery=recovery,
            note=note,
        )
        return row, window


def assert_only_json_503s(window: list[Result], allow_no_answer: bool = False) -> None:
    bad = [r for r in window if r.status is not None and r.status >= 500 and not r.json_ok]
    assert not bad, bad[:5]
    if not allow_no_answer:
        lost = [r for r in window if r.status is None]
        assert not lost, lost[:5]


def failed_ops(window: list[Result]) -> str:
    """` (503: write 1, login 1)`: which operations failed, for the table."""
    failed = Counter(r.op for r in window if r.status is None or r.status >= 500)
    if not failed:
        return ""
    return " (failed: " + ", ".join(f"{op} {n}" for op, n in sorted(failed.items())) + ")"


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def print_table(rows: list[Row], stash: list) -> None:
    lines = [
        "| fault | requests | answered < 500 | 503 | other 5xx | no answer | slowest | back in |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        recovery = "-" if row.recovery is None else f"{row.recovery:.1f} s"
        lines.append(
            f"| {row.fault} | {row.requests} | {row.ok} | {row.unavailable} | {row.errors_500} "
            f"| {row.no_answer}{row.note} | {row.slowest:.2f} s | {recovery} |"
        )
    stash.extend(lines)


@pytest.fixture(scope="module")
def private_services():
    missing = prerequisites_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"the fault test must run in CI: {missing}")
        pytest.skip(missing)
    root = Path(tempfile.mkdtemp(prefix="overworld-faults-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    postgres = PrivatePostgres(root)
    redis_server = None
    try:
        postgres.setup()
        redis_server = PrivateRedis(root)
        yield root, postgres, redis_server
    finally:
        if redis_server:
            redis_server.teardown()
        postgres.teardown()
        shutil.rmtree(root, ignore_errors=True)


SEED = """
import json
from knox.models import AuthToken
from users.models import Follow, User
popular = User.objects.create_user("popular", "popular@example.com", "{password}")
fans = User.objects.bulk_create(
    User(username=f"fan{{n}}", email=f"fan{{n}}@example.com", password="!")
    for n in range({followers})
)
Follow.objects.bulk_create(Follow(follower=fan, followee=popular) for fan in fans)
tokens = []
for n in range({threads}):
    user = User.objects.create_user(f"load{{n}}", f"load{{n}}@example.com", "{password}")
    tokens.append(AuthToken.objects.create(user=user)[1])
print(json.dumps(tokens))
"""


def shell(env: dict[str, str], code: str):
    """Run `code` in `manage.py shell` against the private services; its last line, as JSON."""
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env=server_env(env),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- The steps, one fault each, in the order the test injects them ----------------------------


@dataclass
class Run:
    """What the steps share: the served stack, its load, and the table being written."""

    env: dict
    server: ServeScript
    clients: list
    results: list
    rows: list = field(default_factory=list)

    @property
    def base(self) -> tuple[str, int]:
        return ("127.0.0.1", self.server.port)


def postgres_fast_restart(run: Run, harness: Harness, postgres: PrivatePostgres) -> None:
    # A fast restart: every connection dies; reads are retried on a fresh one. 3 s either side:
    # the few writes in flight when the server terminates their sessions must answer 503 (they
    # may not be run again), so the window holds a few hundred requests, as in the trial.
    row, window = harness.phase("PostgreSQL fast restart", postgres.restart, settle=3.0)
    row.note = failed_ops(window)
    run.rows.append(row)
    assert_only_json_503s(window)
    failed = row.unavailable + row.errors_500 + row.no_answer
    assert failed <= 0.01 * row.requests, row


def postgres_outage(run: Run, harness: Harness, postgres: PrivatePostgres) -> None:
    # An outage of a few seconds: 503s while it lasts, never a 500 or a hang.
    def outage():
        postgres.pg_ctl("-w", "-m", "fast", "stop")
        time.sleep(3)
        postgres.start()

    row, window = harness.phase("PostgreSQL stopped for 3 s", outage)
    row.note = failed_ops(window)
    run.rows.append(row)
    assert_only_json_503s(window)
    assert row.unavailable > 0


def redis_hang(run: Run, harness: Harness, redis_server: PrivateRedis) -> None:
    # Redis hung: its process stopped, its connections left open.
    hung_logins = []

    def hang():
        redis_server.process.send_signal(signal.SIGSTOP)
        start = time.monotonic()
        try:
            while time.monotonic() - start < 3:
                t0 = time.monotonic()
                status, raw, _ = request(
                    run.base,
                    "POST",
                    "/api/users/login/",
                    {"username": "load0", "password": PASSWORD},
                )
                hung_logins.append((status, time.monotonic() - t0))
        finally:
            redis_server.process.send_signal(signal.SIGCONT)

    row, window = harness.phase("Redis hung (SIGSTOP) for 3 s", hang)
    slowest_login = max(seconds for _, seconds in hung_logins)
    row.note = f" (logins while hung: {len(hung_logins)} x 503, slowest {slowest_login:.2f} s)"
    run.rows.append(row)
    assert_only_json_503s(window)
    assert {status for status, _ in hung_logins} == {503}
    assert slowest_login < 1.5
    reads_during_hang = [r for r in window if r.op in ("profile", "popular", "me")]
    assert all(r.status == 200 for r in reads_during_hang), [
        (r.op, r.status, r.error) for r in reads_during_hang if r.status != 200
    ]


def worker_killed(run: Run, harness: Harness) -> None:
    # One gunicorn worker killed: what it had accepted is lost (inherent; nginx answers those
    # with the JSON 503, or cuts an answer it had begun passing on), nothing after it. "What it
    # had accepted" is more than its 4 threads: a gthread worker accepts connections ahead of
    # its threads and queues them, so up to all THREADS client requests can be in it. nginx
    # learns of the dead worker's kept-alive connections when their FIN arrives; a POST sent on
    # one in that instant cannot be retried (it may have run), hence the short grace.
    killed_at = []

    def kill():
        killed_at.append(time.monotonic())
        os.kill(worker_pids(run.server.gunicorn_master())[0], signal.SIGKILL)

    row, window = harness.phase("SIGKILL of one worker", kill)
    failed = [r for r in window if r.status is None or r.status >= 500]
    row.note = " (in flight in the killed worker" + failure_kinds(failed) + ")"
    run.rows.append(row)
    assert_only_json_503s(window, allow_no_answer=True)
    assert len(failed) <= THREADS, failed  # one request in flight per client
    late = [r for r in failed if r.start > killed_at[0] + KILL_GRACE]
    assert not late, (killed_at, late)


def failure_kinds(failed: list[Result]) -> str:
    """`: 4 JSON 503, 1 IncompleteRead`: how the requests lost to a fault ended."""
    kinds = Counter(
        "JSON 503" if r.status == 503 and r.json_ok else r.error or str(r.status) for r in failed
    )
    return "".join(f"{', ' if i else ': '}{n} {kind}" for i, (kind, n) in enumerate(kinds.items()))


def reload(run: Run, harness: Harness) -> None:
    # A rolling reload: new workers start, old ones finish what they accepted.
    row, window = harness.phase(
        "SIGHUP of serve.sh (reload)", lambda: os.kill(run.server.process.pid, signal.SIGHUP)
    )
    run.rows.append(row)
    assert_only_json_503s(window)


def graceful_stop(run: Run) -> None:
    # SIGTERM, what an orchestrator sends: accepted requests finish, then it exits.
    time.sleep(2)
    mark = len(run.results)
    sent = time.monotonic()
    os.kill(run.server.process.pid, signal.SIGTERM)
    run.server.process.wait(timeout=60)
    stopped_in = time.monotonic() - sent
    time.sleep(0.3)
    window = run.results[mark:]
    answered = [r for r in window if r.status is not None]
    # Started well before the signal: nginx had accepted these; each must be answered.
    accepted = [r for r in window if r.start < sent - 0.05]
    refused = [r for r in window if r.error == "ConnectionRefusedError"]
    # Reset: connections the kernel queued on the listening socket after the signal, which
    # nobody accepts any more (docs/deployment.md: take the instance out of rotation first).
    reset = [r for r in window if r.error == "ConnectionResetError"]
    lost = [r for r in window if r.status is None and r not in refused and r not in reset]
    run.rows.append(
        Row(
            "SIGTERM (graceful stop)",
            len(window),
            len(answered),
            sum(1 for r in answered if r.status == 503),
            sum(1 for r in answered if r.status >= 500 and r.status != 503),
            len(lost) + len(reset),
            max((r.end - r.start for r in window), default=0.0),
            None,
            note=(
                f" ({len(reset)} reset: sent after the signal, never accepted; "
                f"+{len(refused)} refused; exited in {stopped_in:.1f} s)"
            ),
        )
    )
    assert all(r.status is not None for r in accepted), accepted
    assert not lost, lost[:5]
    assert all(r.status < 500 for r in answered)


def acknowledged_writes_are_stored(run: Run, fault_table: list) -> None:
    # Every acknowledged follow/unfollow is in the database: each client's last acknowledged
    # state holds (a client repeats an unacknowledged one until it is acknowledged, and one
    # that never reached the server changed nothing).
    follows = shell(
        run.env,
        "import json; from users.models import Follow; "
        "print(json.dumps(list(Follow.objects.filter(follower__username__startswith='load')"
        ".values_list('follower__username', 'followee__username'))))",
    )
    follows = {tuple(pair) for pair in follows}
    known = [c for c in run.clients if c.pending is None or not c.pending_sent]
    assert known, "no client ended with a known follow state"
    for client in known:
        assert ((client.username, client.target) in follows) == client.following, client
    acknowledged = sum(1 for r in run.results if r.op == "write" and r.status == 200)
    fault_table.append(
        f"{acknowledged} follow/unfollow acknowledged; the final state of {len(known)} of "
        f"{len(run.clients)} follow pairs checked in the database: all as acknowledged."
    )


@pytest.fixture
def served(private_services, tmp_path):
    """serve.sh on the private PostgreSQL and Redis, seeded, with its load clients ready."""
    _root, postgres, redis_server = private_services
    env = {
        "DATABASE_URL": postgres.url,
        "REDIS_URL": redis_server.url,
        "OVERWORLD_THROTTLE_AUTH": "100000/min",
        "OVERWORLD_THROTTLE_LOGIN_FAILURES": "none",
        "GUNICORN_GRACEFUL_TIMEOUT": "10",
        "GUNICORN_LOG_LEVEL": "info",
    }
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    tokens = shell(
        env, SEED.format(password=PASSWORD, followers=FOLLOWERS_OF_POPULAR, threads=THREADS)
    )
    server = ServeScript(env, tmp_path, workers=2, threads=4).start()
    results: list[Result] = []
    lock = threading.Lock()
    base = ("127.0.0.1", server.port)
    clients = [
        Client(n, f"load{n}", tokens[n], f"load{(n + 1) % THREADS}", base, results, lock)
        for n in range(THREADS)
    ]
    try:
        yield Run(env, server, clients, results)
    finally:
        server.stop()


def test_faults_keep_the_api_answering(private_services, served, fault_table):
    _root, postgres, redis_server = private_services
    run = served
    try:
        with Harness(run.server, run.clients, run.results) as harness:
            postgres_fast_restart(run, harness, postgres)
            postgres_outage(run, harness, postgres)
            redis_hang(run, harness, redis_server)
            worker_killed(run, harness)
            reload(run, harness)
            graceful_stop(run)
    finally:
        run.server.stop()
        print_table(run.rows, fault_table)
    acknowledged_writes_are_stored(run, fault_table)
    log = run.server.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-3000:]
