"""Zero-downtime restarts: two app servers behind the edge, restarted one after the other while
the frontend's request mix (bench/frontend_mix.lua) runs through it; every failure is counted.

    .venv/bin/python bench/rolling_restart.py [--connections 16] [--no-drain]

What it runs, on a throwaway SQLite file (or --database-url, a PostgreSQL database it does not
create) seeded by bench/prepare.py: two app servers (bench/edge.py `start_app_server`, as
scripts/serve.sh starts one), nginx on deploy/nginx/nginx.conf.template in front of both, and wrk
over https with the mix from `--warmup` seconds before the restarts until `--tail` seconds after
them (then SIGINT, on which wrk reports as at the end of a run). For each server in turn:

1. drain: create the edge's drain file for it, so no new request goes to it, and wait a
   moment for the requests already on their way to arrive;
2. SIGTERM it (graceful: the requests it is serving finish), start it again, wait for /readyz;
3. undrain: remove the file.

`--no-drain` skips 1 and 3 (SIGTERM and restart only, relying on proxy_next_upstream), to show
what the drain is for. Prints JSON: wrk's requests, non-2xx/3xx and socket errors, the mix's own
per-route counts of unexpected statuses, the restart timings, and the nginx access log's
statuses. Loopback only; everything it starts is stopped at the end.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import edge  # noqa: E402

ROOT = edge.ROOT
MIX = ROOT / "bench" / "frontend_mix.lua"


def prepare(database_url: str, workdir: Path) -> Path:
    """Migrate and seed (no celebrities); the mix's users go to workdir/mix.txt."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    }
    env.pop("REDIS_URL", None)
    mix = workdir / "mix.txt"
    subprocess.run(
        [sys.executable, "-W", "ignore", "bench/prepare.py", "--celebrities", "",
         "--out", str(workdir / "prepare.json"), "--mix", str(mix)],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return mix


def parse_wrk(text: str) -> dict:
    result = {
        "requests": int(re.search(r"(\d+) requests in", text).group(1)),
        "non_2xx_3xx": 0,
        "socket_errors": {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        "routes": {},
    }
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        result["non_2xx_3xx"] = int(match.group(1))
    errors = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
    if match := re.search(errors, text):
        result["socket_errors"] = dict(
            zip(("connect", "read", "write", "timeout"), map(int, match.groups()), strict=True)
        )
    for route, rest in re.findall(r"^ROUTE (\w+) (.*)$", text, re.M):
        fields = dict(re.findall(r"(\w+)=([\d.]+)", rest))
        result["routes"][route] = {"count": int(fields["count"]), "errors": int(fields["errors"])}
    result["failures"] = (
        result["non_2xx_3xx"]
        + sum(result["socket_errors"].values())
        + sum(r["errors"] for r in result["routes"].values())
    )
    return result


# After the drain file appears, a request that nginx routed to the server just before may
# still be connecting: give it this long to be accepted before the server stops accepting.
DRAIN_GRACE = 1.0


def restart_all(proxy: edge.Edge, servers: list[edge.AppServer], drain: bool, log: list) -> None:
    for number, server in enumerate(servers, start=1):
        started = time.monotonic()
        step = {"port": server.port}
        if drain:
            proxy.drain(number)
            time.sleep(DRAIN_GRACE)
        server.stop()
        step["stopped_s"] = round(time.monotonic() - started, 2)
        server.start()
        step["ready_s"] = round(time.monotonic() - started, 2)
        if drain:
            proxy.undrain(number)
        step["back_s"] = round(time.monotonic() - started, 2)
        log.append(step)
        time.sleep(1)


def measure(
    workdir: Path,
    *,
    connections: int = 16,
    drain: bool = True,
    database_url: str | None = None,
    warmup: float = 3.0,
    tail: float = 3.0,
    app_overrides: dict | None = None,
) -> dict:
    """One run; returns the report (see the module docstring)."""
    database_url = database_url or f"sqlite:///{workdir / 'rolling.sqlite3'}"
    mix = prepare(database_url, workdir)
    env = edge.app_env(
        database_url,
        # The mix logs in and registers far more often than the throttle lets one client.
        OVERWORLD_THROTTLE_AUTH="1000000/min",
        OVERWORLD_THROTTLE_LOGIN_FAILURES="none",
        **(app_overrides or {}),
    )
    servers = [edge.AppServer(env, workdir), edge.AppServer(env, workdir)]
    (workdir / "nginx").mkdir(exist_ok=True)
    certs = edge.make_certificate(workdir / "certs")
    proxy = edge.Edge(workdir / "nginx", certs, (servers[0].port, servers[1].port))
    steps: list[dict] = []
    try:
        for server in servers:
            server.start()
        proxy.start()
        tag = f"rr{os.getpid()}{int(time.time()) % 100000}"
        wrk = subprocess.Popen(
            ["wrk", f"-t{connections}", f"-c{connections}", "-d600s", "--timeout", "30s",
             "-s", str(MIX), proxy.https_url, "--", str(mix), tag],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        output: list[str] = []
        reader = threading.Thread(target=lambda: output.append(wrk.stdout.read()), daemon=True)
        reader.start()
        time.sleep(warmup)
        began = time.monotonic()
        restart_all(proxy, servers, drain, steps)
        restarts_s = round(time.monotonic() - began, 1)
        time.sleep(tail)
        wrk.send_signal(signal.SIGINT)  # wrk stops and reports, lua done() included
        wrk.wait(timeout=60)
        reader.join(timeout=10)
        text = "".join(output)
        if wrk.returncode != 0:
            raise RuntimeError(f"wrk failed:\n{text}")
        report = parse_wrk(text)
        statuses = Counter(
            int(match) for match in re.findall(r'" (\d{3}) ', proxy.access_log())
        )  # fmt: skip
        report.update(
            drain=drain,
            seconds=round(warmup + restarts_s + tail, 1),
            connections=connections,
            restarts_s=restarts_s,
            steps=steps,
            edge_statuses=dict(sorted(statuses.items())),
        )
        return report
    finally:
        proxy.stop()
        for server in servers:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before")
    parser.add_argument("--tail", type=float, default=3.0, help="seconds of load after")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--no-drain", action="store_true", help="SIGTERM and restart only")
    parser.add_argument("--database-url", default=None, help="an existing, empty database")
    args = parser.parse_args()
    for tool in ("wrk", "openssl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is not installed (apt-get install {tool})")
    if not edge.nginx_binary():
        sys.exit("nginx is not installed (apt-get install nginx)")
    workdir = Path(tempfile.mkdtemp(prefix="overworld-rolling-"))
    try:
        report = measure(
            workdir,
            warmup=args.warmup,
            tail=args.tail,
            connections=args.connections,
            drain=not args.no_drain,
            database_url=args.database_url,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
