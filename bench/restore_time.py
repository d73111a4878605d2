"""Restore time (the recovery time objective) at 1M users and 1.2M follows (issue 18).

    .venv/bin/python bench/restore_time.py [postgresql] [sqlite]   # as root (runs postgres)

PostgreSQL: a private cluster archiving its WAL with pgBackRest, configured as production is
(overworld/tests/archived_postgres.py, deploy/pgbackrest/), seeded by `bench/admin_scale.py
seed` (1,000,000 users, 1,199,999 + 200,000 follows, 100,000 games, 100,000 tokens, game lists).
Then, each timed:
- logical: `scripts/backup.sh` (pg_dump --format=custom), and `scripts/restore.sh` of that
  archive into an empty database (pg_restore in one transaction, indexes and constraints
  rebuilt, then the checks);
- point in time: a full pgBackRest backup; then 100,000 more follows written and archived (WAL
  to replay); the data directory deleted; `pgbackrest restore --type=time` to just after those
  writes (and before one more), and the server started until recovery has replayed the WAL
  and promoted.
SQLite: the same seed into a file, `backup.sh` while a writer commits beside it (the slowest
commit says how long the backup held writers), `restore.sh` into a new file.

Prints a Markdown table (docs/operations.md has the results). Wall times: the machine may be
shared, so the CPU time of this script's children (pg_dump, pg_restore, pgBackRest, manage.py;
not the PostgreSQL server, which pg_ctl starts as a daemon) is printed beside them.
"""

import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "overworld.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "restore-time-measurement-only-not-a-deployment-key")
# The seed's INSERTs of a million rows run far past the API's 15 s statement timeout.
os.environ.setdefault("OVERWORLD_DB_STATEMENT_TIMEOUT", "0")

import django  # noqa: E402

django.setup()

from overworld.tests.archived_postgres import ArchivedPostgres  # noqa: E402

ROWS: list[tuple[str, str, float, float, str]] = []


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(what: str, database: str, command: list[str], env: dict[str, str]) -> str:
    cpu, started = children_cpu(), time.monotonic()
    result = subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True
    )
    wall = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"{what} failed:\n{result.stdout}{result.stderr}")
    if result.stderr.strip():
        print(result.stderr.strip(), flush=True)
    ROWS.append((database, what, wall, children_cpu() - cpu, ""))
    print(f"{database}: {what}: {wall:.1f} s", flush=True)
    return result.stdout


def note(database: str, what: str, wall: float, detail: str = "") -> None:
    ROWS.append((database, what, wall, float("nan"), detail))
    print(f"{database}: {what}: {wall:.1f} s {detail}", flush=True)


def size(path: Path) -> str:
    total = (
        sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
        if path.is_dir()
        else path.stat().st_size
    )
    return f"{total / 2**20:,.0f} MiB"


def postgresql(work: Path) -> None:
    cluster = ArchivedPostgres()
    try:
        cluster.start()
        cluster.sql("CREATE DATABASE ow_backup_rto")
        source = {"DATABASE_URL": cluster.url("ow_backup_rto"), "OVERWORLD_BACKUP_DIR": str(work)}
        py = sys.executable
        timed(
            "seed (bench/admin_scale.py seed)",
            "PostgreSQL",
            [py, "bench/admin_scale.py", "seed"],
            source,
        )
        (db_size,) = cluster.sql("SELECT pg_size_pretty(pg_database_size('ow_backup_rto'))")
        note("PostgreSQL", "database size", 0, db_size)

        # Logical: pg_dump, then pg_restore into an empty database.
        out = timed(
            "backup.sh (pg_dump --format=custom)", "PostgreSQL", ["scripts/backup.sh"], source
        )
        archive = Path(out.strip().splitlines()[-1])
        note("PostgreSQL", "archive size", 0, size(archive))
        cluster.sql("CREATE DATABASE ow_backup_rto_copy")
        out = timed(
            "restore.sh (pg_restore, checks) into an empty database",
            "PostgreSQL",
            ["scripts/restore.sh", str(archive)],
            {"DATABASE_URL": cluster.url("ow_backup_rto_copy")},
        )
        print(out)
        cluster.sql("DROP DATABASE ow_backup_rto_copy")

        # Point in time: a full backup, WAL written after it, the data directory lost.
        started = time.monotonic()
        cluster.full_backup()
        note("PostgreSQL", "pgbackrest backup --type=full", time.monotonic() - started)
        note("PostgreSQL", "repository size", 0, size(cluster.root / "repo" / "backup"))
        time.sleep(1.1)
        started = time.monotonic()
        cluster.sql(
            "INSERT INTO users_follow (follower_id, followee_id, created_at)"
            " SELECT id + 2, id, now() FROM users_user"
            " WHERE id % 10 = 0 AND id + 2 <= (SELECT max(id) FROM users_user)",
            database="ow_backup_rto",
        )
        (target,) = cluster.sql("SELECT clock_timestamp()::text")
        (follows,) = cluster.sql("SELECT count(*) FROM users_follow", database="ow_backup_rto")
        # Recovery to a time stops at the first commit after it: there must be one.
        time.sleep(0.1)
        cluster.sql("DELETE FROM users_follow WHERE id = (SELECT max(id) FROM users_follow)",
                    database="ow_backup_rto")  # fmt: skip
        cluster.archive_now()
        note(
            "PostgreSQL",
            "100,000 follows written after the backup, archived",
            time.monotonic() - started,
        )
        cluster.destroy()
        started = time.monotonic()
        cluster.restore("--type=time", f"--target={target}", "--target-action=promote")
        note(
            "PostgreSQL",
            "pgbackrest restore --type=time + WAL replay until promoted",
            time.monotonic() - started,
        )
        (restored,) = cluster.sql("SELECT count(*) FROM users_follow", database="ow_backup_rto")
        assert restored == follows, (restored, follows)
    finally:
        cluster.stop()


def sqlite(work: Path) -> None:
    source = {
        "DATABASE_URL": f"sqlite:///{work / 'source.sqlite3'}",
        "OVERWORLD_BACKUP_DIR": str(work / "backups"),
    }
    timed(
        "seed (bench/admin_scale.py seed)",
        "SQLite",
        [sys.executable, "bench/admin_scale.py", "seed"],
        source,
    )
    note("SQLite", "database size", 0, size(work / "source.sqlite3"))
    # A writer commits the whole time backup.sh runs, as the app does (WAL, IMMEDIATE): how long
    # does any one commit wait?
    stop, latencies = threading.Event(), []

    def write() -> None:
        database = sqlite3.connect(work / "source.sqlite3", timeout=20, isolation_level=None)
        database.execute("PRAGMA journal_mode=WAL")
        database.execute("PRAGMA synchronous=NORMAL")
        n = 0
        while not stop.is_set():
            n += 1
            started = time.monotonic()
            database.execute("BEGIN IMMEDIATE")
            database.execute("UPDATE users_user SET bio = ? WHERE username = 'celeb'", [f"v{n}"])
            database.execute("COMMIT")
            latencies.append(time.monotonic() - started)
            time.sleep(0.005)
        database.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        out = timed("backup.sh (online backup API)", "SQLite", ["scripts/backup.sh"], source)
    finally:
        stop.set()
        writer.join()
    note(
        "SQLite",
        "a writer committing during backup.sh",
        0,
        f"{len(latencies)} commits, slowest {max(latencies) * 1000:.1f} ms,"
        f" median {statistics.median(latencies) * 1000:.2f} ms",
    )
    backup = Path(out.strip().splitlines()[-1])
    out = timed(
        "restore.sh (backup API, integrity_check, checks) into a new file",
        "SQLite",
        ["scripts/restore.sh", str(backup)],
        {"DATABASE_URL": f"sqlite:///{work / 'restored.sqlite3'}"},
    )
    print(out)


def main() -> None:
    which = sys.argv[1:] or ["postgresql", "sqlite"]
    with tempfile.TemporaryDirectory(prefix="overworld-rto-") as work:
        for name in which:
            folder = Path(work) / name
            folder.mkdir()
            {"postgresql": postgresql, "sqlite": sqlite}[name](folder)
    print("\n| database | step | wall | CPU of the tools | |\n|---|---|---|---|---|")
    for database, what, wall, cpu, detail in ROWS:
        cpu_text = "" if cpu != cpu else f"{cpu:.1f} s"
        wall_text = f"{wall:.1f} s" if wall else ""
        print(f"| {database} | {what} | {wall_text} | {cpu_text} | {detail} |")


if __name__ == "__main__":
    main()
