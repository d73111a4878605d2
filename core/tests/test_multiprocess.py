"""The metrics' shared directory (core.metrics_files) and the sum /metrics answers over it."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from core import metrics_files, scrape

# A worker: counts `n` requests to /healthz and one in flight, then exits (or stays, `hold`).
WORKER = """
import os, sys, django
django.setup()
from core import metrics
for _ in range(int(sys.argv[1])):
    metrics.observe_request("healthz", "GET", 200, 0.01)
metrics.HTTP_IN_FLIGHT.inc()
print(os.getpid(), flush=True)
if sys.argv[2] == "hold":
    sys.stdin.read()
"""


def worker(directory, n: int, hold: bool = False) -> subprocess.Popen:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "DJANGO_SETTINGS_MODULE": "overworld.settings",
    }
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, str(n), "hold" if hold else "exit"],
        cwd=settings.BASE_DIR,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def samples(text: bytes) -> dict:
    found = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


HEALTHZ = (
    "overworld_http_requests_total",
    (("method", "GET"), ("route", "healthz"), ("status", "200")),
)
IN_FLIGHT = ("overworld_http_requests_in_flight", ())


def test_multiprocess_prepare_empties_the_named_directory(tmp_path, monkeypatch):
    directory = tmp_path / "metrics"
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))

    assert metrics_files.prepare() == str(directory)
    (directory / "counter_123.db").write_bytes(b"stale")
    (directory / "gauge_livesum_123.db").write_bytes(b"stale")
    (directory / "notes.txt").write_text("the operator's")
    assert metrics_files.prepare() == str(directory)

    assert sorted(path.name for path in directory.iterdir()) == ["notes.txt"]


def test_multiprocess_prepare_makes_a_private_directory_when_metrics_are_on(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setenv("OVERWORLD_METRICS_TOKEN", "token")
    monkeypatch.setattr(metrics_files, "_made_here", None)

    path = metrics_files.prepare()
    try:
        assert os.path.isdir(path)
        assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == path
    finally:
        metrics_files.cleanup()
        # Not monkeypatch.delenv, which would put the removed directory back afterwards.
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR")
    assert not os.path.exists(path)


def test_multiprocess_prepare_does_nothing_while_metrics_are_off(monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.delenv("OVERWORLD_METRICS_TOKEN", raising=False)

    assert metrics_files.prepare() is None
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_multiprocess_cleanup_never_removes_a_named_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(metrics_files, "_made_here", None)

    metrics_files.prepare()
    metrics_files.cleanup()

    assert tmp_path.is_dir()


def test_multiprocess_exposition_adds_up_every_process(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for n in (3, 4):
        assert worker(tmp_path, n).wait(timeout=60) == 0

    found = samples(scrape.exposition())

    assert found[HEALTHZ] == 7
    assert found[("overworld_http_request_duration_seconds_count", (("route", "healthz"),))] == 7


def test_multiprocess_dead_workers_keep_their_counts_but_not_their_live_gauges(
    tmp_path, monkeypatch
):
    # Two workers: one exits (killed, replaced, whatever the server), one lives on. Nobody
    # told the directory about the exit: the scrape itself notices the pid is gone.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gone = worker(tmp_path, 5)
    living = worker(tmp_path, 2, hold=True)
    try:
        gone_pid = int(gone.stdout.readline())
        living.stdout.readline()
        assert gone.wait(timeout=60) == 0

        found = samples(scrape.exposition())

        assert found[HEALTHZ] == 7
        assert found[IN_FLIGHT] == 1  # the living worker's request; the dead one's is gone
        assert not (tmp_path / f"gauge_livesum_{gone_pid}.db").exists()
        assert (tmp_path / f"counter_{gone_pid}.db").exists()
    finally:
        living.stdin.close()
        living.wait(timeout=60)


def test_multiprocess_mark_dead_drops_only_live_gauges(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("counter_42.db", "histogram_42.db", "gauge_livesum_42.db", "gauge_livesum_43.db"):
        (tmp_path / name).write_bytes(b"")

    metrics_files.mark_dead(42)

    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["counter_42.db", "gauge_livesum_43.db", "histogram_42.db"]


@pytest.mark.parametrize(
    ("name", "pid"),
    [("gauge_livesum_1234.db", 1234), ("gauge_liveall_7.db", 7), ("counter_1234.db", None)],
)
def test_multiprocess_live_gauge_files_are_recognised(name, pid):
    match = metrics_files.LIVE_GAUGE_FILE.match(name)

    assert (int(match.group(1)) if match else None) == pid
