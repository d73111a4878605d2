"""The metrics' shared directory: how every server process adds to one set of counters.

A server runs several worker processes; each one counts in memory-mapped files of its own in
PROMETHEUS_MULTIPROC_DIR (prometheus-client's multiprocess mode), and a scrape of /metrics, in
whichever worker it lands, adds up every file in the directory (core.metrics). So:

- **The directory is wiped when the server starts** (`prepare()`), before any worker exists:
  files of an earlier run would otherwise be added to this one's, and a recycled pid would
  continue another process's gauges. Counters then start at zero, which Prometheus reads as a
  restart, as it does for any process.
- **A worker that dies leaves its counter and histogram files**: what it counted stays in the
  sum, so a counter never goes backwards when a worker is killed and replaced.
- **Live gauges** (requests in flight) must forget a dead worker's value: its `gauge_live*`
  files are removed by `mark_dead()`, called from the server's own "worker exited" hook where it
  has one (gunicorn's child_exit) and, whatever the server, at every scrape for each pid that no
  longer exists (`forget_dead_processes()`).

Nothing here imports prometheus-client at module level: prometheus-client decides once, when it
is first imported, whether PROMETHEUS_MULTIPROC_DIR is set, and a server's master process (which
imports this module to prepare the directory) passes its imports on to the workers it forks.

Any server start can call it: gunicorn.conf.py does in `on_starting`; from a shell,
`export PROMETHEUS_MULTIPROC_DIR="$(python -m core.metrics_files)"` before starting the server.
"""

import contextlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from overworld.env import env

ENV = "PROMETHEUS_MULTIPROC_DIR"
# gauge_livesum_1234.db, gauge_liveall_1234.db, ...: the files of gauges that only count while
# their process lives.
LIVE_GAUGE_FILE = re.compile(r"^gauge_live\w*?_(\d+)\.db$")
_made_here: str | None = None


def directory() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR, or None when metrics are counted in one process only."""
    return env.str(ENV, default="") or None


def ensure_directory() -> None:
    """Create PROMETHEUS_MULTIPROC_DIR if it is named but missing (a process started without
    the server's hook, e.g. `manage.py shell` in a deployment's environment), before
    prometheus-client opens its files there."""
    path = directory()
    if path is not None:
        Path(path).mkdir(parents=True, exist_ok=True)


def metrics_enabled() -> bool:
    # The setting itself (overworld.settings) reads the same variable; this module must work
    # before Django's settings are loaded (a server's master, a shell).
    return bool(env.str("OVERWORLD_METRICS_TOKEN", default=""))


def prepare() -> str | None:
    """Make the directory ready for a server start: empty, and named in the environment.

    With PROMETHEUS_MULTIPROC_DIR set, that directory is created if missing and emptied of its
    metric files. Without it, when metrics are on (OVERWORLD_METRICS_TOKEN), a private temporary
    directory is made and put in the environment, which the workers inherit (`cleanup()`
    removes it when the server exits). Without either, nothing: one process counts alone.
    Call it in the server's master, before the first worker starts.
    """
    global _made_here
    path = directory()
    if path is None:
        if not metrics_enabled():
            return None
        path = _made_here = tempfile.mkdtemp(prefix="overworld-metrics-")
        # Written, not read: the workers the server forks inherit it (and so does
        # prometheus-client, which reads it itself when the application imports it).
        os.environ.update({ENV: path})
    Path(path).mkdir(parents=True, exist_ok=True)
    for stale in Path(path).glob("*.db"):
        stale.unlink(missing_ok=True)
    return path


def cleanup() -> None:
    """Remove the directory `prepare()` made itself (never one the operator named)."""
    if _made_here is not None:
        shutil.rmtree(_made_here, ignore_errors=True)


def mark_dead(pid: int) -> None:
    """Forget the live gauges of a worker that exited; its counters stay in the sum."""
    if directory() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive (a recycled pid; see docs/operations.md)
    return True


def forget_dead_processes() -> None:
    """Drop the live-gauge files of every pid that no longer exists.

    For servers without a "worker exited" hook, and for workers killed while their server's
    hook could not run. A pid recycled by an unrelated process keeps its old value until that
    process exits too; pids are recycled slowly enough for this to be rare.
    """
    path = directory()
    if path is None:
        return
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(path):
            match = LIVE_GAUGE_FILE.match(entry.name)
            if match and not process_exists(int(match.group(1))):
                mark_dead(int(match.group(1)))


if __name__ == "__main__":
    # `export PROMETHEUS_MULTIPROC_DIR="$(python -m core.metrics_files)"`: prepare the directory
    # for a server started from a shell, and print it (nothing when metrics are off).
    prepared = prepare()
    if prepared:
        print(prepared)
    sys.exit(0)
