"""A private PostgreSQL primary and a streaming replica of it, for users/tests/test_replicas.py.

The replica is made the way production makes one, `pg_basebackup -R` (a base backup plus
`standby.signal` and `primary_conninfo`), and streams from its primary. The primary is a
cluster of its own (initdb) rather than the machine's shared server: that server's pg_hba.conf
accepts no replication connections, and it is not ours to reconfigure, pause or stop. Both run
as the `postgres` user on free loopback ports from a temporary directory, with no permanent
replication slot, and are stopped and deleted at the end.

Both log every statement (`log_statement = all`), which is how the tests see which server ran
a query.
"""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2

from users.tests.live import free_port, manage, private_postgres_sql

PG_BIN = Path(os.environ.get("OVERWORLD_PG_BIN", "/usr/lib/postgresql/15/bin"))
DATABASE = "overworld"
LOG_ENTRY_START = re.compile(r"\d{4}-\d\d-\d\d ")


def as_postgres(*args: str) -> list[str]:
    # PostgreSQL refuses to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


def available() -> str | None:
    """Why a private cluster cannot be made here, or None when it can."""
    for tool in ("initdb", "pg_ctl", "pg_basebackup"):
        if not (PG_BIN / tool).exists():
            return f"no {PG_BIN / tool} (set OVERWORLD_PG_BIN)"
    if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
        return "needs root (to run as postgres) or the postgres user"
    return None


class ReplicatedPostgres:
    def __init__(self, root: Path):
        self.root = root
        self.primary_dir = root / "primary"
        self.replica_dir = root / "replica"
        self.primary_port = free_port()
        self.replica_port = free_port()

    # --- lifecycle ---

    def start(self) -> "ReplicatedPostgres":
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        self._run(
            PG_BIN / "initdb", "-D", self.primary_dir, "-U", "postgres", "--auth=trust",
            "-E", "UTF8", "--no-sync", "--no-instructions",
        )  # fmt: skip
        self._configure(self.primary_dir, self.primary_port)
        self._pg_ctl(self.primary_dir, "start")
        self.sql(self.primary_port, f"CREATE DATABASE {DATABASE}", database="postgres")
        manage({"DATABASE_URL": self.primary_url}, "migrate", "--noinput")
        # -X stream uses a temporary slot, gone when the backup ends; -c fast: no checkpoint wait.
        self._run(
            PG_BIN / "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.primary_port),
            "-U", "postgres", "-D", self.replica_dir, "-R", "-X", "stream", "-c", "fast",
            "--no-sync",
        )  # fmt: skip
        self._configure(self.replica_dir, self.replica_port)
        self.start_replica()
        return self

    def stop(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                subprocess.run(
                    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"),
                    capture_output=True,
                    timeout=60,
                )
        shutil.rmtree(self.root, ignore_errors=True)

    def start_replica(self) -> None:
        self._pg_ctl(self.replica_dir, "start")
        self.wait_replayed()

    def stop_replica(self) -> None:
        self._run(PG_BIN / "pg_ctl", "-D", self.replica_dir, "-m", "fast", "-w", "stop")

    # --- replication ---

    def pause_replay(self) -> None:
        self.sql(self.replica_port, "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql(self.replica_port, "SELECT pg_wal_replay_resume()")

    def wait_replayed(self, timeout: float = 30) -> None:
        """Until the replica has replayed everything the primary had written when called."""
        (target,) = self.sql(self.primary_port, "SELECT pg_current_wal_insert_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                (caught_up,) = self.sql(
                    self.replica_port,
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                    [target],
                )
                if caught_up:
                    return
            except psycopg2.OperationalError:
                pass  # still starting
            time.sleep(0.05)
        raise RuntimeError(f"the replica did not replay up to {target} in {timeout} s")

    # --- access ---

    @property
    def primary_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.primary_port}/{DATABASE}"

    @property
    def replica_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.replica_port}/{DATABASE}"

    def sql(self, port: int, query: str, params=None, database: str = DATABASE):
        return private_postgres_sql(port, query, params, database=database)

    def statements(self, which: str) -> list[str]:
        """The statements logged so far by `primary` or `replica`."""
        log = self.root / f"{which}.log"
        # A statement spanning several lines (the profile's SQL) is logged over several lines:
        # an entry runs from one timestamped line (log_line_prefix's %m) to the next.
        entries: list[str] = []
        for line in log.read_text(errors="replace").splitlines():
            if LOG_ENTRY_START.match(line) or not entries:
                entries.append(line)
            else:
                entries[-1] += "\n" + line
        return [entry for entry in entries if "statement:" in entry]

    # --- helpers ---

    def _configure(self, data: Path, port: int) -> None:
        # Appended, so these win over what initdb or the base backup wrote.
        settings = {
            "port": port,
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "off",
            "shared_buffers": "'16MB'",
            "max_connections": 60,
            "log_statement": "'all'",
            "logging_collector": "off",
        }
        with open(data / "postgresql.conf", "a") as conf:
            conf.writelines(f"{name} = {value}\n" for name, value in settings.items())

    def _pg_ctl(self, data: Path, action: str) -> None:
        log = self.root / f"{data.name}.log"
        self._run(PG_BIN / "pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", action)

    def _run(self, *args) -> None:
        result = subprocess.run(
            as_postgres(*map(str, args)), capture_output=True, text=True, timeout=120, cwd="/"
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(map(str, args))} failed:\n{result.stdout}{result.stderr}"
            )
