"""A real Prometheus scrapes a real server: the counts it stores are the requests sent.

The app server runs as scripts/serve.sh runs it (gunicorn.conf.py, 2 workers; `start_app_server`
is the one place that says how), with OVERWORLD_METRICS_TOKEN set and PROMETHEUS_MULTIPROC_DIR in
a temporary directory. Debian's Prometheus (`apt-get install prometheus`; OVERWORLD_PROMETHEUS
names another binary) scrapes it every second with the bearer token, from a generated config
that also loads deploy/prometheus/alerts.yml, on a port of its own with its own TSDB directory.
Without the binary the tests skip, except in CI (`CI` set), where .ci/run installs it.

The server's database is a temporary SQLite file whatever the suite's, so the PostgreSQL passes
of the suite would only repeat this: it runs in the SQLite pass.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

from users.tests.live import GunicornServer, call, free_port

PROMETHEUS = Path(os.environ.get("OVERWORLD_PROMETHEUS", "/usr/bin/prometheus"))
ALERTS = Path(settings.BASE_DIR) / "deploy" / "prometheus" / "alerts.yml"
TOKEN = "prometheus-test-token-0123456789abcdef"
SCRAPE_SECONDS = 1

pytestmark = [
    pytest.mark.live,
    pytest.mark.prometheus,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
        reason="the server under test has its own SQLite file: runs once, in the SQLite pass",
    ),
]


def require_prometheus() -> None:
    if PROMETHEUS.exists():
        return
    reason = f"no Prometheus at {PROMETHEUS} (apt-get install prometheus)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the Prometheus test (.ci/run installs it)")
    pytest.skip(reason)


def start_app_server(env: dict[str, str], log_dir: Path, workers: int = 2) -> GunicornServer:
    """The API served as production serves it: gunicorn with gunicorn.conf.py, whose hooks
    prepare PROMETHEUS_MULTIPROC_DIR (core.metrics_files) before the workers start and drop a
    dead worker's live gauges. The one place to adapt if the app server changes."""
    return GunicornServer(env, log_dir, workers=workers, threads=4).start()


def worker_pids(server: GunicornServer) -> list[int]:
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


class Prometheus:
    """Debian's prometheus on 127.0.0.1, scraping `target` with the bearer token."""

    def __init__(self, target: str, directory: Path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / "prometheus.log"
        config = directory / "prometheus.yml"
        config.write_text(
            f"""
global:
  scrape_interval: {SCRAPE_SECONDS}s
  scrape_timeout: {SCRAPE_SECONDS}s
  evaluation_interval: {SCRAPE_SECONDS}s
rule_files: ["{ALERTS}"]
scrape_configs:
  - job_name: overworld
    metrics_path: /metrics
    authorization: {{type: Bearer, credentials: "{TOKEN}"}}
    static_configs: [{{targets: ["{target}"]}}]
"""
        )
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={directory / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_for(lambda: self.get("/-/ready") == 200, "Prometheus to be ready", 30)

    def get(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as response:
                return response.status
        except OSError:
            return 0

    def query(self, expr: str) -> list[dict]:
        url = f"{self.base_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        reply = call(self.base_url, "GET", url.removeprefix(self.base_url))
        assert reply.status == 200, reply.body
        assert reply.body["status"] == "success", reply.body
        return reply.body["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        assert len(result) <= 1, result
        return float(result[0]["value"][1]) if result else None

    def scraped_after(self, moment: float) -> None:
        """Wait for a scrape that began after `moment` (and so saw every request before it)."""

        def done():
            when = self.value('timestamp(up{job="overworld"})')
            return when is not None and when > moment

        self.wait_for(done, "a scrape after the requests", 15)
        assert self.value('up{job="overworld"}') == 1

    def wait_for(self, condition, what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"waited {seconds} s for {what}:\n{self.log()}")
            time.sleep(0.2)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


@pytest.fixture(scope="module")
def scraped(tmp_path_factory):
    """(server, prometheus, metrics directory): both running for the module's tests."""
    require_prometheus()
    directory = tmp_path_factory.mktemp("prometheus")
    metrics_dir = directory / "metrics"
    env = {
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "OVERWORLD_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    # A previous run's counts left in the directory: the server start must empty it (gunicorn's
    # on_starting hook), or every count below would be 1000 too high.
    leave_stale_counts(metrics_dir, 1000)
    server = start_app_server(env, directory)
    prometheus = None
    try:
        prometheus = Prometheus(f"127.0.0.1:{server.port}", directory)
        yield server, prometheus, metrics_dir
    finally:
        if prometheus is not None:
            prometheus.stop()
        server.stop()
        shutil.rmtree(directory / "tsdb", ignore_errors=True)


STALE = """
import sys, django
django.setup()
from core import metrics
for _ in range(int(sys.argv[1])):
    metrics.observe_request("healthz", "GET", 200, 0.01)
    metrics.observe_request("readyz", "GET", 200, 0.01)
"""


def leave_stale_counts(metrics_dir: Path, count: int) -> None:
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "DJANGO_SETTINGS_MODULE": "overworld.settings",
    }
    subprocess.run(
        [sys.executable, "-c", STALE, str(count)], cwd=settings.BASE_DIR, env=env, check=True
    )
    assert list(metrics_dir.glob("counter_*.db"))


def send(server: GunicornServer, path: str, count: int) -> list[int]:
    """`count` GETs of `path`, 8 at a time, each on a fresh connection; their statuses."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = pool.map(lambda _: call(server.base_url, "GET", path), range(count))
        return [reply.status for reply in replies]


def requests_by_process(metrics_dir: Path, route: str) -> dict[int, float]:
    """Each worker's own count of GET `route` 200, read from its counter file alone."""
    counts = {}
    for path in metrics_dir.glob("counter_*.db"):
        alone = metrics_dir.parent / f"alone-{path.stem}"
        alone.mkdir(exist_ok=True)
        shutil.copy(path, alone / path.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        value = registry.get_sample_value(
            "overworld_http_requests_total", {"route": route, "method": "GET", "status": "200"}
        )
        shutil.rmtree(alone)
        if value:
            counts[int(path.stem.removeprefix("counter_"))] = value
    return counts


HEALTHZ = 'sum(overworld_http_requests_total{route="healthz", method="GET", status="200"})'
READYZ = 'sum(overworld_http_requests_total{route="readyz", method="GET", status="200"})'


def test_prometheus_counts_every_request_sent_across_both_workers(scraped):
    server, prometheus, metrics_dir = scraped
    sent = 0
    # Both workers accept from one socket; keep sending until each has served some.
    while sent < 480:
        statuses = send(server, "/healthz", 60)
        assert statuses == [200] * 60
        sent += 60
        if len(requests_by_process(metrics_dir, "healthz")) >= 2:
            break
    finished = time.time()

    prometheus.scraped_after(finished)

    assert prometheus.value(HEALTHZ) == sent
    by_process = requests_by_process(metrics_dir, "healthz")
    assert sorted(by_process) == worker_pids(server)
    assert all(count > 0 for count in by_process.values())
    assert sum(by_process.values()) == sent


def test_prometheus_counters_never_go_back_when_a_worker_is_replaced(scraped):
    server, prometheus, _metrics_dir = scraped
    assert send(server, "/readyz", 40) == [200] * 40
    prometheus.scraped_after(time.time())
    assert prometheus.value(READYZ) == 40

    killed = worker_pids(server)[0]
    os.kill(killed, signal.SIGKILL)
    prometheus.wait_for(
        lambda: killed not in worker_pids(server) and len(worker_pids(server)) == 2,
        "gunicorn to replace the killed worker",
        30,
    )
    assert send(server, "/readyz", 40) == [200] * 40
    prometheus.scraped_after(time.time())

    assert prometheus.value(READYZ) == 80
    # Not once lower between scrapes: no counter reset seen over the whole test.
    assert prometheus.value(f"resets({READYZ.removeprefix('sum(')[:-1]}[5m])") == 0
    assert prometheus.value("sum(overworld_http_requests_in_flight)") == 0


def test_prometheus_evaluates_every_alert_rule_without_error(scraped):
    _server, prometheus, _metrics_dir = scraped

    def rules() -> list[dict]:
        reply = call(prometheus.base_url, "GET", "/api/v1/rules")
        return [rule for group in reply.body["data"]["groups"] for rule in group["rules"]]

    prometheus.wait_for(
        lambda: (
            rules()
            and all(rule.get("lastEvaluation", "").startswith("2") for rule in rules())
            and all(rule["health"] != "unknown" for rule in rules())
        ),
        "every rule to be evaluated",
        15,
    )
    broken = [(rule["name"], rule.get("lastError")) for rule in rules() if rule["health"] != "ok"]
    assert broken == []
    assert len(rules()) >= 10
