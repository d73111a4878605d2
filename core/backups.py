"""Logical backups of the configured database, and restoring them (docs/operations.md).

`backup()` writes one file into OVERWORLD_BACKUP_DIR while the API keeps serving:
- SQLite: the online backup API (`sqlite3.Connection.backup`) copies every page in one step,
  inside one read transaction. In WAL mode (the project's, overworld/settings.py) a reader never
  blocks a writer, so writers go on while the copy is made, and the copy is the snapshot the
  transaction saw: never a half-written file.
- PostgreSQL: `pg_dump --format=custom`, one snapshot (REPEATABLE READ) that blocks no writer
  either, from the pg_dump whose major version matches the server's.

The file is written under a hidden temporary name and renamed once complete and checked, so a
backup that fails leaves nothing that looks like a good one. Then older backups of the same
kind are pruned (OVERWORLD_BACKUP_KEEP, OVERWORLD_BACKUP_KEEP_DAYS).

`restore()` loads such a file into the database DATABASE_URL names, refusing one that already
holds tables unless forced. Point-in-time recovery on PostgreSQL is pgBackRest's job, not
this module's (deploy/pgbackrest/).
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections

# overworld-<kind>-<UTC timestamp>.<ext>, e.g. overworld-sqlite-20261201T140512Z.sqlite3
NAME = re.compile(r"^overworld-(sqlite|postgresql)-(\d{8}T\d{6}Z)\.(sqlite3|dump)$")
EXTENSIONS = {"sqlite": "sqlite3", "postgresql": "dump"}
# What restore counts and prints, by table.
COUNTED = {
    "users": "users_user",
    "follows": "users_follow",
    "games": "games_game",
    "tokens": "knox_authtoken",
    "played": "users_user_played",
    "liked": "users_user_liked",
    "backlog": "users_user_backlog",
    "wishlist": "users_user_wishlist",
}


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why, in one line."""


def kind() -> str:
    vendor = connections["default"].vendor
    if vendor not in EXTENSIONS:
        raise BackupError(f"no backup for a {vendor} database")
    return "sqlite" if vendor == "sqlite" else "postgresql"


def backup_dir() -> Path:
    return Path(settings.OVERWORLD_BACKUP_DIR)


# --- backup -------------------------------------------------------------------------------------


def backup(now: datetime | None = None) -> Path:
    """Write a backup of the default database; its path. Prunes older ones afterwards."""
    which = kind()
    now = now or datetime.now(UTC)
    folder = backup_dir()
    # A backup holds password hashes and token digests: readable by its owner only.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    final = folder / f"overworld-{which}-{stamp}.{EXTENSIONS[which]}"
    if final.exists():
        raise BackupError(f"{final} exists already (one backup a second at most)")
    partial = folder / f".{final.name}.partial"
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        if which == "sqlite":
            _backup_sqlite(partial)
        else:
            _backup_postgresql(partial)
        _fsync(partial)
        os.replace(partial, final)
        _fsync(folder)
    finally:
        partial.unlink(missing_ok=True)
    prune(which, keep_path=final)
    return final


def _backup_sqlite(target: Path) -> None:
    source_path = settings.DATABASES["default"]["NAME"]
    if not Path(source_path).exists():
        raise BackupError(f"no SQLite database at {source_path}")
    # timeout: the one moment a lock is needed (opening a WAL database whose -shm must be set
    # up) waits for a writer like the app's own connections do.
    source = sqlite3.connect(source_path, timeout=20)
    copy = sqlite3.connect(target)
    try:
        # The app's own mode; a no-op once any app connection has opened the file.
        source.execute("PRAGMA journal_mode=WAL")
        # pages=-1 (all at once): one read transaction, one snapshot. Stepping in chunks would
        # restart from the beginning each time another connection writes.
        started = time.monotonic()
        source.backup(copy, pages=-1)
        took = time.monotonic() - started
        # One self-contained file: no -wal beside it.
        copy.execute("PRAGMA journal_mode=DELETE")
        (result,) = copy.execute("PRAGMA quick_check").fetchone()
        if result != "ok":
            raise BackupError(f"the copy fails quick_check: {result}")
    finally:
        copy.close()
        source.close()
    size = target.stat().st_size
    # To stderr: what an operator (and the test) reads to see how long the snapshot was held.
    print(f"sqlite: {size:,} bytes copied in {took:.3f} s, one read transaction", file=sys.stderr)


def _backup_postgresql(target: Path) -> None:
    dump = pg_tool("pg_dump")
    result = subprocess.run(
        [dump, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"],
        env=libpq_env(),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")


def prune(which: str, keep_path: Path | None = None) -> list[Path]:
    """Delete backups of `which` kind beyond the newest KEEP and older than KEEP_DAYS days."""
    keep = settings.OVERWORLD_BACKUP_KEEP
    keep_days = settings.OVERWORLD_BACKUP_KEEP_DAYS
    found = sorted(
        (path for path in backup_dir().iterdir() if (m := NAME.match(path.name)) and m[1] == which),
        key=lambda path: NAME.match(path.name)[2],
        reverse=True,
    )
    cutoff = datetime.now(UTC) - timedelta(days=keep_days) if keep_days > 0 else None
    removed = []
    # What a backup killed mid-way (SIGKILL, power) left: never a good backup, gone after a day.
    for path in backup_dir().glob(f".overworld-{which}-*.partial"):
        if path.stat().st_mtime < time.time() - 86400:
            path.unlink(missing_ok=True)
            removed.append(path)
    for position, path in enumerate(found):
        if path == keep_path:
            continue
        too_many = keep > 0 and position >= keep
        too_old = cutoff is not None and _stamp(path) < cutoff
        if too_many or too_old:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def _stamp(path: Path) -> datetime:
    return datetime.strptime(NAME.match(path.name)[2], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- PostgreSQL client tools --------------------------------------------------------------------


def libpq_env() -> dict[str, str]:
    """The environment that points pg_dump/pg_restore at the default database."""
    database = settings.DATABASES["default"]
    env = dict(os.environ)
    for variable, key in (
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
        ("PGDATABASE", "NAME"),
    ):
        if database.get(key):
            env[variable] = str(database[key])
    if sslmode := database.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = sslmode
    return env


def server_major() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        (number,) = cursor.fetchone()
    return int(number) // 10000


def pg_tool(name: str) -> str:
    """The pg_dump/pg_restore of the server's major version (Debian keeps one per version
    in /usr/lib/postgresql/N/bin), else the one on PATH if it is at least as new."""
    major = server_major()
    versioned = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    if versioned.exists():
        return str(versioned)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"no {name}: install postgresql-client-{major}")
    output = subprocess.run([found, "--version"], capture_output=True, text=True).stdout
    client = int(re.search(r"(\d+)", output.split(")")[-1])[1])
    if client < major:
        raise BackupError(
            f"{found} is version {client}, the server {major}: install postgresql-client-{major}"
        )
    return found


# --- restore ------------------------------------------------------------------------------------


@dataclass
class Restored:
    target: str
    seconds: float
    counts: dict[str, int]


def backup_kind(path: Path) -> str:
    with open(path, "rb") as file:
        head = file.read(16)
    if head.startswith(b"SQLite format 3\0"):
        return "sqlite"
    if head.startswith(b"PGDMP"):
        return "postgresql"
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump custom archive")


def restore(path: Path, *, force: bool = False) -> Restored:
    """Load the backup at `path` into the default database. Refuses a database with tables in
    it unless `force`. Checks nothing beyond what loading checks: see the command."""
    if not path.is_file():
        raise BackupError(f"no backup at {path}")
    which = kind()
    if backup_kind(path) != which:
        raise BackupError(f"{path} is a {backup_kind(path)} backup; DATABASE_URL is {which}")
    started = time.monotonic()
    if which == "sqlite":
        target = _restore_sqlite(path, force)
    else:
        target = _restore_postgresql(path, force)
    connections.close_all()
    return Restored(target, time.monotonic() - started, row_counts())


def _restore_sqlite(path: Path, force: bool) -> str:
    target = Path(settings.DATABASES["default"]["NAME"])
    connections.close_all()
    if target.exists() and target.stat().st_size and not force:
        probe = sqlite3.connect(target, timeout=20)
        try:
            (tables,) = probe.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
            ).fetchone()
        finally:
            probe.close()
        if tables:
            raise BackupError(
                f"{target} is not empty ({tables} tables): restore over it with --force"
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    # Through the backup API into the target, not a file copy: SQLite replaces every page in
    # one write transaction and keeps the target's -wal consistent with its main file.
    destination = sqlite3.connect(target, timeout=20)
    try:
        source.backup(destination, pages=-1)
        destination.execute("PRAGMA journal_mode=WAL")
        (result,) = destination.execute("PRAGMA integrity_check").fetchone()
    finally:
        destination.close()
        source.close()
    if result != "ok":
        raise BackupError(f"integrity_check on {target}: {result}")
    print(f"integrity_check: {result}")
    return str(target)


def _restore_postgresql(path: Path, force: bool) -> str:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_tables"
            " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
        )
        (tables,) = cursor.fetchone()
    database = settings.DATABASES["default"]["NAME"]
    if tables and not force:
        raise BackupError(
            f"database {database} is not empty ({tables} tables): restore over it with --force"
        )
    connections.close_all()
    command = [
        pg_tool("pg_restore"),
        "--no-owner",
        "--no-privileges",
        # All or nothing: a failed restore leaves the database as it was.
        "--single-transaction",
        "--exit-on-error",
        f"--dbname={database}",
    ]
    if force:
        command += ["--clean", "--if-exists"]
    result = subprocess.run([*command, str(path)], env=libpq_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    return f"PostgreSQL database {database}"


def row_counts() -> dict[str, int]:
    counts = {}
    with connections["default"].cursor() as cursor:
        for label, table in COUNTED.items():
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            (counts[label],) = cursor.fetchone()
    return counts
