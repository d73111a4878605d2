"""The replica router's decisions and settings, without a replica (users/tests/test_replicas.py
has the real one)."""

import json
import math
import time

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.db import connections
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from core import replicas
from core.models import ThrottleCounter
from core.replicas import ReplicaRouter, parse_lsn, read_from_replica, replica_reads
from games.models import Game
from overworld.tests.test_settings import run_python
from users.models import Follow, User


def fail_with(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


KEY = {"DJANGO_SECRET_KEY": "router-tests-key", "DJANGO_DEBUG": "0"}
SHOW = (
    "print(json.dumps([settings.DATABASE_ROUTERS, sorted(settings.DATABASES),"
    " settings.OVERWORLD_REPLICA_MAX_LAG]))"
)


def settings_with(**env: str) -> list:
    result = run_python(f"import json; {SHOW}", **KEY, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("urls", [None, "", " , "])
def test_replicas_settings_without_replicas_install_no_router(urls):
    env = {"DATABASE_URL": "postgres://u@db:5432/overworld"}
    if urls is not None:
        env["DATABASE_REPLICA_URLS"] = urls

    assert settings_with(**env) == [[], ["default"], 5.0]


def test_replicas_settings_with_replicas_install_the_router():
    routers, aliases, max_lag = settings_with(
        DATABASE_URL="postgres://u@db:5432/overworld",
        DATABASE_REPLICA_URLS="postgres://u@r1:5432/overworld, postgres://u@r2:5432/overworld",
        OVERWORLD_REPLICA_MAX_LAG="2.5",
    )

    assert routers == ["core.replicas.ReplicaRouter"]
    assert aliases == ["default", "replica_0", "replica_1"]
    assert max_lag == 2.5


def test_replicas_settings_replicas_fail_fast_and_are_never_test_databases():
    result = run_python(
        "import json; print(json.dumps([settings.DATABASES['replica_0'][key]"
        " for key in ('OPTIONS', 'TEST', 'CONN_HEALTH_CHECKS')]))",
        **KEY,
        DATABASE_URL="postgres://u@db:5432/overworld",
        DATABASE_REPLICA_URLS="postgres://u@r1:5432/overworld?sslmode=require",
    )

    assert result.returncode == 0, result.stderr
    options, test, health_checks = json.loads(result.stdout)
    # The primary's statement timeout carries over; the connect timeout is the replica's own,
    # shorter one, so a dead replica is skipped quickly.
    assert options == {
        "connect_timeout": 2,
        "options": "-c statement_timeout=15s",
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 3,
        "tcp_user_timeout": 10_000,
        "sslmode": "require",
    }
    assert test["MIRROR"] == "default"
    assert health_checks is True


def test_replicas_settings_refuse_replicas_of_sqlite():
    result = run_python(
        "print(settings.DATABASES)", **KEY, DATABASE_REPLICA_URLS="postgres://u@r1:5432/overworld"
    )

    assert result.returncode != 0
    assert "DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL" in result.stderr


def test_replicas_answers_the_primary_outside_the_scope():
    router = ReplicaRouter()

    assert {router.db_for_read(model) for model in (User, Follow, Game, AuthToken)} == {"default"}


def test_replicas_answers_the_replica_only_for_the_profile_tables_inside_the_scope():
    router = ReplicaRouter()

    with replica_reads("replica_0"):
        profile = {router.db_for_read(model) for model in (User, Follow, Game, User.played.through)}
        others = {router.db_for_read(model) for model in (AuthToken, Session)}
        writes = {router.db_for_write(model) for model in (User, Follow, ThrottleCounter)}

    assert profile == {"replica_0"}
    assert others == {"default"}
    assert writes == {"default"}


def test_replicas_migrates_only_the_primary():
    router = ReplicaRouter()

    assert router.allow_migrate("default", "users") is True
    assert router.allow_migrate("replica_0", "users") is False


def test_replicas_lsn_orders_like_the_wal():
    assert parse_lsn("0/16B3748") < parse_lsn("0/16B3750") < parse_lsn("1/0") < parse_lsn("A/0")
    assert parse_lsn("1/0") == 1 << 32
    assert parse_lsn(None) == -1


def test_replicas_read_without_replicas_is_the_read_itself(settings):
    settings.DATABASE_REPLICAS = []
    calls = []

    assert read_from_replica(None, lambda: calls.append(1) or "document") == "document"
    assert calls == [1]


def test_replicas_write_answers_200_when_its_pin_cannot_be_stored(
    auth_client, user, other_user, settings, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    # Redis (or the LSN query) failing after the follow committed: the follow is kept and
    # acknowledged; only the pin is lost, which the log says.
    settings.DATABASE_REPLICAS = ["replica_0"]
    settings.OVERWORLD_REPLICA_REMOTE_APPLY = False  # replicas that may lag: writes pin
    monkeypatch.setattr(
        replicas, "_store_pin", fail_with(redis.exceptions.ConnectionError("Redis is down"))
    )

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = auth_client.post("/api/users/follow/", {"username": "badeline"}, format="json")

    assert len(callbacks) == 1
    assert response.status_code == 200
    assert response.json() == []
    assert Follow.objects.filter(follower=user, followee=other_user).exists()
    assert "Redis is down" in caplog.text


def test_replicas_replica_whose_probe_hangs_is_skipped_by_other_requests(settings):
    # One thread is stuck probing a frozen replica (it holds the probe lock); the others must
    # not keep sending reads to a replica that no longer answers.
    alias = "replica_stuck"
    settings.DATABASE_REPLICAS = [alias]
    state = replicas._state(alias)
    state.checked = -float("inf")
    state.lag, state.replay_lsn = 0.0, 100
    assert replicas._probing[alias].acquire(blocking=False)
    try:
        state.probe_started = time.monotonic() - replicas.PROBE_STUCK - 1
        replicas.refresh(alias)
        assert state.down_until > time.monotonic()
    finally:
        replicas._probing[alias].release()
        replicas._states.pop(alias)
        replicas._probing.pop(alias)


@pytest.fixture
def remote_apply_replica(settings, monkeypatch):
    """A replica alias under OVERWORLD_REPLICA_REMOTE_APPLY, whose state must never be probed."""
    alias = "replica_remote_apply"
    settings.DATABASE_REPLICAS = [alias]
    settings.OVERWORLD_REPLICA_REMOTE_APPLY = True
    monkeypatch.setattr(replicas, "refresh", fail_with(AssertionError("probed")))
    yield alias
    replicas._states.pop(alias, None)
    replicas._probing.pop(alias, None)


def test_replicas_remote_apply_answers_any_pin_without_a_probe(remote_apply_replica):
    assert replicas.usable_replica(pin=None) == (remote_apply_replica, "")
    assert replicas.usable_replica(pin=2**63) == (remote_apply_replica, "")


def test_replicas_remote_apply_still_skips_a_replica_that_failed(remote_apply_replica):
    replicas._state(remote_apply_replica).down_until = time.monotonic() + replicas.DOWN_FOR

    assert replicas.usable_replica(pin=None) == (None, "down")


def test_replicas_remote_apply_records_no_pin(
    auth_client, user, other_user, remote_apply_replica, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = auth_client.post("/api/users/follow/", {"username": "badeline"}, format="json")

    assert response.status_code == 200
    assert callbacks == []


def test_replicas_lagging_replica_is_probed(settings, monkeypatch):
    # Without remote apply the replica's state decides: one past the lag limit is not used.
    alias = "replica_probed"
    settings.DATABASE_REPLICAS = [alias]
    settings.OVERWORLD_REPLICA_REMOTE_APPLY = False
    probed = []

    def refresh(name):
        probed.append(name)
        return replicas.ReplicaState(checked=time.monotonic(), lag=math.inf, replay_lsn=0)

    monkeypatch.setattr(replicas, "refresh", refresh)

    assert replicas.usable_replica(pin=None) == (None, "lagging")
    assert probed == [alias]


@pytest.mark.skipif(
    not django_settings.DATABASE_REPLICAS, reason="needs DATABASE_REPLICA_URLS (CI's PgBouncer run)"
)
@pytest.mark.django_db(transaction=True)
def test_replicas_profile_read_runs_on_the_replica_alias(api_client, other_user):
    # The suite's replica alias is a test mirror of the test database (conftest.py): committed
    # rows are there, and the profile read goes through that alias's own connection.
    [alias] = django_settings.DATABASE_REPLICAS
    with (
        CaptureQueriesContext(connections[alias]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = api_client.get("/api/users/badeline")

    assert response.status_code == 200
    assert response.json()["username"] == "badeline"
    assert any("badeline" in str(query["sql"]) for query in on_replica.captured_queries)
    assert not any("badeline" in str(query["sql"]) for query in on_primary.captured_queries)
