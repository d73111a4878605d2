"""Read replicas for real: gunicorn on a private primary with a streaming replica of it.

users/tests/replication.py makes the pair (initdb, then `pg_basebackup -R`); the servers are
the deployment's own gunicorn with DATABASE_REPLICA_URLS set. Which server ran a query is read
from the servers' statement logs. Replay is paused with `pg_wal_replay_pause()` to make a
replica lag for as long as a test needs, and the replica is stopped to make it fail.

These tests run when OVERWORLD_TEST_REPLICATION=1 or DATABASE_REPLICA_URLS is set (CI's run
through PgBouncer with replicas sets both); they need PostgreSQL's server binaries and root.
"""

import os
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from users.tests.live import TEST_PASSWORD, call, register, unique
from users.tests.replication import ReplicatedPostgres, available

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (os.environ.get("OVERWORLD_TEST_REPLICATION") == "1")
        and not os.environ.get("DATABASE_REPLICA_URLS"),
        reason="replication tests: set OVERWORLD_TEST_REPLICATION=1",
    ),
]

INVALID_TOKEN = {"detail": "Invalid token."}


@pytest.fixture(scope="module")
def pair():
    reason = available()
    if reason:
        pytest.fail(f"cannot make a private primary and replica: {reason}")
    # Not under pytest's temporary directory: that is private to root, and the servers run as
    # postgres.
    cluster = ReplicatedPostgres(Path(tempfile.mkdtemp(prefix="overworld-replication-")))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture
def serve(pair, start_server):
    """serve(max_lag) -> a gunicorn server on the pair, the replica in DATABASE_REPLICA_URLS."""

    def start(max_lag: float = 5, **extra):
        env = {
            "DATABASE_URL": pair.primary_url,
            "DATABASE_REPLICA_URLS": pair.replica_url,
            "OVERWORLD_REPLICA_MAX_LAG": str(max_lag),
            "OVERWORLD_THROTTLE_AUTH": "100000/min",
            **extra,
        }
        return start_server(env)

    return start


@pytest.fixture
def paused(pair):
    """Call it to pause the replica's replay; resumed after the test whatever happens."""
    state = {"paused": False}

    def pause():
        pair.pause_replay()
        state["paused"] = True

    yield pause
    if state["paused"]:
        pair.resume_replay()
        pair.wait_replayed()


def profile(server, name: str, token: str | None = None, route: str = "/api/users/"):
    reply = call(server.base_url, "GET", f"{route}{name}", token=token)
    assert reply.status == 200, (reply.status, reply.body)
    return reply.body


def is_read(entry: str) -> bool:
    """A logged SELECT, or the EXECUTE of a statement prepared by core.statements."""
    return "SELECT" in entry or "EXECUTE overworld_" in entry


def selects_naming(pair, which: str, name: str) -> int:
    """Reads logged by `which` (primary or replica) that mention `name`."""
    return sum(1 for line in pair.statements(which) if is_read(line) and name.lower() in line)


def profile_statement_names() -> set[str]:
    """The names core.statements gives the profile document's statements on PostgreSQL."""
    from users.profile_document import _statement

    return {
        _statement("postgresql", by=by, authenticated=authenticated, email=email).name
        for by in ("username", "id")
        for authenticated in (False, True)
        for email in ("public", "owner")
    }


def is_profile_read(entry: str, name: str) -> bool:
    """The profile document of `name`: its SQL, or the EXECUTE of one of its statements."""
    if name.lower() not in entry.lower():
        return False
    if "SELECT" in entry and ""","followers":""" in entry:
        return True
    return any(f"EXECUTE {statement} " in entry for statement in profile_statement_names())


def test_replicas_serve_anonymous_profile_reads(pair, serve):
    # A generous lag limit: this test is about where reads go, not about lag.
    server = serve(max_lag=3600)
    name = unique("reader")
    user_id, _token = register(server.base_url, name)
    pair.wait_replayed()
    # A profile is one statement (users.profile_document): the database builds the document.
    kinds = {"profile": lambda line: is_profile_read(line, name)}

    def count(which):
        lines = [line for line in pair.statements(which) if is_read(line)]
        return {kind: sum(map(test, lines)) for kind, test in kinds.items()}

    before = {which: count(which) for which in ("primary", "replica")}
    for route in ("/api/users/", "/api/users/profile/") * 3:
        assert profile(server, name, route=route)["id"] == user_id

    on_replica = {kind: n - before["replica"][kind] for kind, n in count("replica").items()}
    on_primary = {kind: n - before["primary"][kind] for kind, n in count("primary").items()}
    assert on_replica == {"profile": 6}
    assert on_primary == {"profile": 0}


def test_replicas_read_your_writes_while_replay_is_paused(pair, serve, paused):
    # A lag limit of an hour keeps the paused replica in use: only the pins steer reads away.
    server = serve(max_lag=3600)
    fan, star = unique("fan"), unique("star")
    fan_id, token = register(server.base_url, fan)
    star_id, _ = register(server.base_url, star)
    pair.wait_replayed()
    paused()

    # The frontend's pattern: follow, then at once re-read both profiles with the token.
    assert (
        call(server.base_url, "POST", "/api/users/follow/", {"username": star}, token=token).status
        == 200
    )
    assert profile(server, fan, token)["following"] == [star_id]
    star_seen_by_fan = profile(server, star, token, route="/api/users/profile/")
    assert star_seen_by_fan["followers"] == [fan_id]
    assert star_seen_by_fan["followingUser"] is True
    # An anonymous reader has no pin: the paused replica answers, without the follow yet.
    assert profile(server, star)["followers"] == []

    update = call(server.base_url, "POST", f"/api/users/profile/{fan}", {"bio": "new"}, token=token)
    assert update.status == 200
    assert profile(server, fan, token)["bio"] == "new"
    assert (
        call(
            server.base_url, "POST", "/api/users/unfollow/", {"username": star}, token=token
        ).status
        == 200
    )
    assert profile(server, star, token)["followers"] == []
    assert profile(server, fan, token)["following"] == []

    # A new login pins too: that client's reads stay on the primary.
    login = call(
        server.base_url, "POST", "/api/users/login/", {"username": fan, "password": TEST_PASSWORD}
    )
    assert profile(server, fan, login.body["token"])["bio"] == "new"
    assert profile(server, fan)["bio"] is None  # the replica, still paused


def test_replicas_lagging_past_the_limit_are_skipped(pair, serve, paused):
    server = serve(max_lag=1)
    fan, star = unique("fan"), unique("star")
    fan_id, token = register(server.base_url, fan)
    register(server.base_url, star)
    pair.wait_replayed()
    paused()
    assert (
        call(server.base_url, "POST", "/api/users/follow/", {"username": star}, token=token).status
        == 200
    )

    # Past the limit (and the state's half-second age), anonymous reads go to the primary too.
    time.sleep(1.7)
    before = selects_naming(pair, "replica", star)
    assert profile(server, star)["followers"] == [fan_id]
    assert selects_naming(pair, "replica", star) == before


def test_replicas_logout_is_refused_at_once_on_every_token_route_while_lagging(pair, serve, paused):
    first, second = serve(max_lag=3600), serve(max_lag=3600)
    name, other = unique("leaver"), unique("other")
    register(first.base_url, name)
    register(first.base_url, other)
    pair.wait_replayed()
    paused()

    token = call(
        first.base_url, "POST", "/api/users/login/", {"username": name, "password": TEST_PASSWORD}
    ).body["token"]
    # A token just issued works at once on the other server, replica paused or not.
    assert call(second.base_url, "GET", "/api/users/user/", token=token).status == 200
    assert profile(second, other, token)["followingUser"] is False
    assert call(first.base_url, "POST", "/api/users/logout/", token=token).status == 204

    routes = [
        ("GET", "/api/users/user/", None),
        ("GET", f"/api/users/{other}", None),
        ("GET", f"/api/users/profile/{other}", None),
        ("POST", f"/api/users/profile/{name}", {"bio": "after logout"}),
        ("POST", "/api/users/follow/", {"username": other}),
        ("POST", "/api/users/unfollow/", {"username": other}),
        ("POST", "/api/users/logout/", None),
    ]
    for server in (second, first):
        for method, path, body in routes:
            reply = call(server.base_url, method, path, body, token=token)
            assert (reply.status, reply.body) == (401, INVALID_TOKEN), (server.port, method, path)


def test_replicas_stopped_cost_only_a_fallback(pair, serve):
    server = serve()
    name, fan = unique("lonely"), unique("fan")
    user_id, _ = register(server.base_url, name)
    fan_id, token = register(server.base_url, fan)
    assert (
        call(server.base_url, "POST", "/api/users/follow/", {"username": name}, token=token).status
        == 200
    )
    pair.wait_replayed()
    # Warm every worker thread's replica connection, so that some reads below find theirs
    # broken in the middle of the read and the others cannot connect at all.
    for _ in range(16):
        profile(server, name)

    pair.stop_replica()
    try:
        replies = [call(server.base_url, "GET", f"/api/users/{name}") for _ in range(24)]
        replies += [
            call(server.base_url, "GET", f"/api/users/{name}", token=token) for _ in range(4)
        ]
    finally:
        pair.start_replica()

    assert {reply.status for reply in replies} == {200}
    assert {tuple(reply.body["followers"]) for reply in replies} == {(fan_id,)}
    assert {reply.body["id"] for reply in replies} == {user_id}
    assert "replica replica_0 skipped" in server.log()
    assert "Traceback" not in server.log()


def profile_reads(server, token: str) -> dict[tuple[str, str], float]:
    """overworld_profile_reads_total by (source, reason), summed over the server's workers."""
    reply = call_raw(server, "/metrics", {"Authorization": f"Bearer {token}"})
    found = {}
    for family in text_string_to_metric_families(reply):
        for sample in family.samples:
            if sample.name == "overworld_profile_reads_total":
                found[(sample.labels["source"], sample.labels["reason"])] = sample.value
    return found


def call_raw(server, path: str, headers: dict[str, str]) -> str:
    request = urllib.request.Request(server.base_url + path, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def test_replicas_metrics_say_where_each_profile_was_read_and_why(pair, serve, paused):
    # Two workers count in the directory gunicorn.conf.py makes when the token is set.
    metrics_token = "replica-metrics-token-0123456789"
    server = serve(max_lag=3600, OVERWORLD_METRICS_TOKEN=metrics_token)
    fan, star = unique("fan"), unique("star")
    _fan_id, token = register(server.base_url, fan)
    register(server.base_url, star)
    pair.wait_replayed()

    for _ in range(6):
        profile(server, star)  # anonymous: the replica
    paused()
    assert (
        call(server.base_url, "POST", "/api/users/follow/", {"username": star}, token=token).status
        == 200
    )
    for _ in range(3):
        profile(server, star, token)  # the reader's own follow is not replayed: the primary

    assert profile_reads(server, metrics_token) == {("replica", ""): 6, ("primary", "pinned"): 3}
