"""Backups tested by restoring them, for real (docs/operations.md, "Backups and restore").

- SQLite: the frontend's writes (follows, profile updates) and reads go on against a gunicorn
  server while scripts/backup.sh runs; the backup restores cleanly with scripts/restore.sh, and
  every write acknowledged before the backup began is in it.
- PostgreSQL, point in time: a private cluster archives its WAL with pgBackRest
  (overworld/tests/archived_postgres.py); after a known acknowledged write the time is noted, a
  later write is made, the data directory is deleted, and pgBackRest restores to that time: the
  first write is there, the later one is not.
- PostgreSQL, logical: backup.sh and restore.sh round trip into an empty database of the same
  private cluster, and restore.sh refuses one that is not empty.

Self-contained (their own SQLite files and cluster), so they run once, in the SQLite pass.
Skipped without PostgreSQL's server binaries or pgbackrest, or when not root or postgres,
except in CI (CI set), where they must run (.ci/run installs pgbackrest).

    OVERWORLD_TEST_PORTS=21000-21099 ./scripts/test.sh -m backups -s
"""

import os
import sqlite3
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

from overworld.tests.archived_postgres import ArchivedPostgres, missing
from users.tests.live import GunicornServer, call, manage, register, server_env

pytestmark = [
    pytest.mark.backups,
    pytest.mark.live,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
        reason="self-contained (own SQLite files and PostgreSQL cluster): runs in the SQLite pass",
    ),
]

SCRIPTS = Path(settings.BASE_DIR) / "scripts"
ACTORS = 4
TARGETS_PER_ACTOR = 400


def start_app_server(database_url: str, log_dir: Path) -> GunicornServer:
    """The API served as production serves it (docs/deployment.md, "One server"): migrate,
    then gunicorn with the project's gunicorn.conf.py. The one place these tests start one."""
    env = {"DATABASE_URL": database_url, "OVERWORLD_THROTTLE_AUTH": "100000/min"}
    manage(env, "migrate", "--noinput")
    return GunicornServer(env, log_dir).start()


def script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(SCRIPTS / name), *args],
        env=server_env(env),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def scripts_ready():
    """The scripts' virtual environment installed once, before anything is timed."""
    result = script("restore.sh", "--help", env={})
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def cluster():
    reason = missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the backup tests must run in CI: {reason}")
        pytest.skip(reason)
    archived = ArchivedPostgres()
    try:
        archived.start()
        archived.sql("CREATE DATABASE ow_backup_app")
        manage({"DATABASE_URL": archived.url("ow_backup_app")}, "migrate", "--noinput")
        yield archived
    finally:
        archived.stop()


# --- SQLite under load --------------------------------------------------------------------------


@dataclass
class Actor:
    """One client thread of the frontend's mix: follows new users, saves its bio, reads."""

    name: str
    token: str
    targets: list[str]
    follows: list[tuple[float, str]] = field(default_factory=list)  # (acknowledged at, whom)
    bios: list[tuple[float, int]] = field(default_factory=list)  # (acknowledged at, version)
    writes: list[tuple[float, float]] = field(default_factory=list)  # (sent, acknowledged)
    failures: list[str] = field(default_factory=list)

    def run(self, base_url: str, stop: threading.Event) -> None:
        for step, target in enumerate(self.targets):
            if stop.is_set():
                return
            self.write(base_url, "/api/users/follow/", {"username": target}, self.follows, target)
            if step % 4 == 0:
                path = f"/api/users/profile/{self.name}/"
                self.write(base_url, path, {"bio": f"v{step}"}, self.bios, step)
            reply = call(base_url, "GET", f"/api/users/{target}", token=self.token)
            if reply.status != 200:
                self.failures.append(f"GET {target}: {reply.status}")

    def write(self, base_url, path, body, log, what) -> None:
        sent = time.monotonic()
        reply = call(base_url, "POST", path, body, token=self.token)
        acknowledged = time.monotonic()
        if reply.status != 200:
            self.failures.append(f"POST {path} {body}: {reply.status} {reply.body}")
            return
        log.append((acknowledged, what))
        self.writes.append((sent, acknowledged))


def seed_targets(path: Path, names: list[str]) -> None:
    database = sqlite3.connect(path)
    with database:
        database.executemany(
            "INSERT INTO users_user (password, is_superuser, first_name, last_name, is_staff,"
            " is_active, date_joined, username, email)"
            " VALUES ('!', 0, '', '', 0, 1, CURRENT_TIMESTAMP, ?, ? || '@example.com')",
            [(name, name) for name in names],
        )
    database.close()


def test_backups_sqlite_under_load_keeps_every_acknowledged_write(scripts_ready, tmp_path):
    source = tmp_path / "serving.sqlite3"
    backups = tmp_path / "backups"
    server = start_app_server(f"sqlite:///{source}", tmp_path)
    try:
        actors = []
        for n in range(ACTORS):
            name = f"actor{n}"
            _user_id, token = register(server.base_url, name)
            targets = [f"target{n}x{k}" for k in range(TARGETS_PER_ACTOR)]
            actors.append(Actor(name, token, targets))
        seed_targets(source, [target for actor in actors for target in actor.targets])

        stop = threading.Event()
        threads = [
            threading.Thread(target=actor.run, args=(server.base_url, stop)) for actor in actors
        ]
        for thread in threads:
            thread.start()
        try:
            time.sleep(2)  # writes under way
            began = time.monotonic()
            backup = script(
                "backup.sh",
                env={"DATABASE_URL": f"sqlite:///{source}", "OVERWORLD_BACKUP_DIR": str(backups)},
            )
            ended = time.monotonic()
            time.sleep(1)  # and they go on after it
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=120)
    finally:
        server.stop()

    assert backup.returncode == 0, backup.stderr
    path = Path(backup.stdout.strip().splitlines()[-1])
    assert path.parent == backups
    assert path.name.startswith("overworld-sqlite-") and path.suffix == ".sqlite3"
    assert [item.name for item in path.parent.iterdir()] == [path.name]
    assert [failure for actor in actors for failure in actor.failures] == []

    restored = tmp_path / "restored.sqlite3"
    result = script("restore.sh", str(path), env={"DATABASE_URL": f"sqlite:///{restored}"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "integrity_check: ok" in result.stdout
    assert "migrations: up to date" in result.stdout

    database = sqlite3.connect(restored)
    follows = set(
        database.execute(
            "SELECT a.username, b.username FROM users_follow"
            " JOIN users_user a ON a.id = follower_id JOIN users_user b ON b.id = followee_id"
        )
    )
    bios = dict(database.execute("SELECT username, bio FROM users_user WHERE bio LIKE 'v%'"))
    database.close()
    before = 0
    for actor in actors:
        for acknowledged, target in actor.follows:
            if acknowledged < began:
                before += 1
                assert (actor.name, target) in follows
        versions = [version for acknowledged, version in actor.bios if acknowledged < began]
        if versions:
            assert int(bios[actor.name][1:]) >= max(versions)
    during = [
        acknowledged - sent
        for actor in actors
        for sent, acknowledged in actor.writes
        if sent < ended and acknowledged > began
    ]
    earlier = [
        acknowledged - sent for actor in actors for sent, acknowledged in actor.writes
        if acknowledged < began
    ]  # fmt: skip
    after = sum(1 for actor in actors for acknowledged, _ in actor.follows if acknowledged > ended)
    assert before > 0 and during and after > 0  # writes before, during and after the backup
    print(
        f"\nSQLite backup under load: backup.sh {ended - began:.2f} s; {before} follows"
        f" acknowledged before it, all in it; {len(during)} writes overlapped it, slowest"
        f" {max(during) * 1000:.0f} ms (slowest before it: {max(earlier) * 1000:.0f} ms);"
        f" {len(follows)} follows in the backup; {backup.stderr.strip()}"
    )


# --- PostgreSQL: point in time with pgBackRest ------------------------------------------------


def add_user(cluster: ArchivedPostgres, name: str) -> None:
    """One acknowledged write: the INSERT has committed when sql() returns."""
    cluster.sql(
        "INSERT INTO users_user (password, is_superuser, first_name, last_name, is_staff,"
        " is_active, date_joined, username, email)"
        " VALUES ('!', false, '', '', false, true, now(), %s, %s)",
        [name, f"{name}@example.com"],
        database="ow_backup_app",
    )


def usernames(cluster: ArchivedPostgres) -> set[str]:
    (names,) = cluster.sql(
        "SELECT coalesce(array_agg(username), '{}') FROM users_user", database="ow_backup_app"
    )
    return set(names)


def test_backups_postgresql_restores_to_a_point_in_time(cluster):
    cluster.full_backup()
    # pgBackRest picks a backup that ended before the target, in whole seconds.
    time.sleep(1.1)
    add_user(cluster, "kept")
    (target,) = cluster.sql("SELECT clock_timestamp()::text")
    time.sleep(0.1)
    add_user(cluster, "lost")
    assert {"kept", "lost"} <= usernames(cluster)
    cluster.archive_now()

    cluster.destroy()
    assert not cluster.data.exists()
    cluster.restore("--type=time", f"--target={target}", "--target-action=promote")

    names = usernames(cluster)
    assert "kept" in names
    assert "lost" not in names


# --- PostgreSQL: backup.sh and restore.sh ---------------------------------------------------


def test_backups_postgresql_round_trip_into_an_empty_database(scripts_ready, cluster, tmp_path):
    add_user(cluster, "roundtrip")
    (users,) = cluster.sql("SELECT count(*) FROM users_user", database="ow_backup_app")
    cluster.sql("CREATE DATABASE ow_backup_copy")
    backups = tmp_path / "backups"

    made = script(
        "backup.sh",
        env={"DATABASE_URL": cluster.url("ow_backup_app"), "OVERWORLD_BACKUP_DIR": str(backups)},
    )
    assert made.returncode == 0, made.stderr
    path = Path(made.stdout.strip().splitlines()[-1])
    assert path.parent == backups and path.name.startswith("overworld-postgresql-")
    restored = script("restore.sh", str(path), env={"DATABASE_URL": cluster.url("ow_backup_copy")})
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "migrations: up to date" in restored.stdout
    assert f"  users     {users:>12,}" in restored.stdout
    (copied,) = cluster.sql(
        "SELECT count(*) FROM users_user WHERE username = 'roundtrip'", database="ow_backup_copy"
    )
    assert copied == 1

    # The copy now has tables: a second restore is refused and changes nothing.
    cluster.sql("DELETE FROM users_user WHERE username = 'roundtrip'", database="ow_backup_copy")
    refused = script("restore.sh", str(path), env={"DATABASE_URL": cluster.url("ow_backup_copy")})
    assert refused.returncode == 1
    assert "is not empty" in refused.stderr and "--force" in refused.stderr
    (left,) = cluster.sql(
        "SELECT count(*) FROM users_user WHERE username = 'roundtrip'", database="ow_backup_copy"
    )
    assert left == 0

    forced = script(
        "restore.sh", "--force", str(path), env={"DATABASE_URL": cluster.url("ow_backup_copy")}
    )
    assert forced.returncode == 0, forced.stdout + forced.stderr
    (back,) = cluster.sql(
        "SELECT count(*) FROM users_user WHERE username = 'roundtrip'", database="ow_backup_copy"
    )
    assert back == 1
