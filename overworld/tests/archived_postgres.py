"""A private PostgreSQL cluster that archives its WAL with pgBackRest, for point-in-time recovery.

Used by overworld/tests/test_backups.py and bench/restore_time.py. Configured as
deploy/pgbackrest/ configures production (archive_mode, `archive_command = pgbackrest ...
archive-push %p`, archive_timeout = 60 s, a full backup, `pgbackrest restore --type=time`), in a
temporary directory: its own data directory, its own pgBackRest repository, config, lock and
spool paths, and stanza, on a free loopback port, so the machine's PostgreSQL and any
pgBackRest of its own are never touched. Runs as the `postgres` user (PostgreSQL refuses root);
`stop()` stops it and deletes the directory.
"""

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg2

from users.tests.live import free_port, private_postgres_sql

PG_BIN = Path(os.environ.get("OVERWORLD_PG_BIN", "/usr/lib/postgresql/15/bin"))
STANZA = "overworld"


def as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def missing() -> str | None:
    """Why such a cluster cannot be made here, or None when it can."""
    for tool in ("initdb", "pg_ctl"):
        if not (PG_BIN / tool).exists():
            return f"no {PG_BIN / tool} (set OVERWORLD_PG_BIN)"
    if shutil.which("pgbackrest") is None:
        return "no pgbackrest (apt-get install pgbackrest)"
    if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
        return "initdb/pg_ctl must run as user postgres: run as root or postgres"
    return None


class ArchivedPostgres:
    def __init__(self):
        # Its own directory in /tmp (mkdtemp: mode 0700, owned by us; given to postgres below).
        self.root = Path(tempfile.mkdtemp(prefix="overworld-pitr-"))
        self.data = self.root / "data"
        self.config = self.root / "pgbackrest.conf"
        self.port = free_port()

    # --- lifecycle ---

    def start(self) -> "ArchivedPostgres":
        shutil.chown(self.root, "postgres", "postgres")
        self.config.write_text(
            "[global]\n"
            f"repo1-path={self.root / 'repo'}\n"
            "repo1-retention-full=2\n"
            f"lock-path={self.root / 'lock'}\n"
            f"spool-path={self.root / 'spool'}\n"
            f"log-path={self.root / 'log'}\n"
            "log-level-console=warn\n"
            "log-level-file=off\n"
            "start-fast=y\n"
            "compress-type=zst\n"
            "process-max=2\n"
            f"\n[{STANZA}]\n"
            f"pg1-path={self.data}\n"
            f"pg1-port={self.port}\n"
            f"pg1-socket-path={self.root}\n"
        )
        self.run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip
        settings = {
            "port": self.port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": 40,
            "wal_level": "replica",
            "archive_mode": "on",
            "archive_command": f"'pgbackrest --config={self.config} --stanza={STANZA}"
            " archive-push %p'",
            "archive_timeout": 60,
            "logging_collector": "off",
        }
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())
        self.pg_ctl("start")
        self.pgbackrest("stanza-create")
        return self

    def stop(self) -> None:
        self.destroy()
        shutil.rmtree(self.root, ignore_errors=True)

    def destroy(self) -> None:
        """What a dead disk does: the server gone, its data directory gone."""
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                as_postgres(
                    str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                ),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.data, ignore_errors=True)

    # --- pgBackRest ---

    def pgbackrest(self, *args: str) -> None:
        self.run("pgbackrest", f"--config={self.config}", f"--stanza={STANZA}", *args)

    def full_backup(self) -> None:
        self.pgbackrest("backup", "--type=full")

    def archive_now(self) -> None:
        """Close the current WAL segment and wait until pgBackRest has archived it (what
        archive_timeout does on its own within a minute)."""
        (segment,) = self.sql("SELECT pg_walfile_name(pg_switch_wal())", database="postgres")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            (archived,) = self.sql(
                "SELECT coalesce(last_archived_wal >= %s, false) FROM pg_stat_archiver",
                [segment],
                database="postgres",
            )
            if archived:
                return
            time.sleep(0.1)
        raise RuntimeError(f"WAL segment {segment} was not archived within 60 s")

    def restore(self, *options: str) -> None:
        """Restore the data directory from the repository (pgBackRest's options, e.g.
        --type=time --target=...), start the server and wait until recovery has finished."""
        self.data.mkdir(mode=0o700)
        shutil.chown(self.data, "postgres", "postgres")
        self.pgbackrest("restore", *options)
        self.pg_ctl("start")
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                (recovering,) = self.sql("SELECT pg_is_in_recovery()", database="postgres")
                if not recovering:
                    return
            except psycopg2.OperationalError:
                if not (self.data / "postmaster.pid").exists():
                    log = (self.root / "postgres.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"the server stopped during recovery:\n{log}") from None
            time.sleep(0.1)
        raise RuntimeError("recovery did not finish within 600 s")

    # --- access ---

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def sql(self, query: str, params=None, database: str = "postgres"):
        return private_postgres_sql(self.port, query, params, database=database)

    # --- helpers ---

    def pg_ctl(self, action: str) -> None:
        self.run(
            PG_BIN / "pg_ctl", "-D", self.data, "-l", self.root / "postgres.log", "-w",
            "-t", "600", action,
        )  # fmt: skip

    def run(self, *args) -> None:
        # Output to a file, not a pipe: the postmaster pg_ctl starts would inherit a pipe.
        with open(self.root / "commands.log", "ab") as log:
            result = subprocess.run(
                as_postgres(*map(str, args)), stdout=log, stderr=log, timeout=1800, cwd="/"
            )
        if result.returncode != 0:
            tail = (self.root / "commands.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{' '.join(map(str, args))} failed:\n{tail}")
