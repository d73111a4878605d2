"""What metrics and request ids cost per request: the same code served with them off and on.

Usage (after bench/run.sh has made the venv and installed wrk once):

    .venv/bin/python bench/overhead.py --rounds 5 --duration 5

It seeds one throwaway PostgreSQL database (`<BENCH_PG_PREFIX>_overhead_<pid>`, dropped at the
end) with bench/prepare.py, then starts one gunicorn server per variant on it, all at once, each
as production runs it (gunicorn.conf.py, 2 workers x 4 threads):

- `off`: as the API was before them: no request id, no metrics, no application access line
  (core.access.AccessMiddleware left out by bench/settings.py), gunicorn's own access line on;
- `on`: the defaults with OVERWORLD_METRICS_TOKEN set: request ids, the application's access
  line (text), every family counted in PROMETHEUS_MULTIPROC_DIR; /metrics scraped every 5 s
  throughout, three times as often as a usual 15 s scrape interval;
- `json`: `on` with OVERWORLD_LOG_FORMAT=json.

Each round loads every endpoint on every variant in turn with wrk (bench/run.py's `measure`),
the variants' order reversed every other round, so that they share the machine's state; the
table has the medians over rounds of the process CPU per request (the server's workers, its
PostgreSQL backends and wrk, from /proc), which stays meaningful on a shared machine, and the
median over rounds of the cost of `on` and `json` against `off` in the same round.
"""

import argparse
import os
import secrets
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import Endpoint, Server, _pg_backends, measure, prepare, psql, run_wrk  # noqa: E402

METRICS_TOKEN = secrets.token_urlsafe(32)
VARIANTS = {
    "off": {"BENCH_OBSERVABILITY": "off", "GUNICORN_ACCESS_LOG": "1"},
    "on": {"OVERWORLD_METRICS_TOKEN": METRICS_TOKEN},
    "json": {"OVERWORLD_METRICS_TOKEN": METRICS_TOKEN, "OVERWORLD_LOG_FORMAT": "json"},
}
CLEARED = ("BENCH_OBSERVABILITY", "GUNICORN_ACCESS_LOG", "OVERWORLD_METRICS_TOKEN",
           "OVERWORLD_LOG_FORMAT", "PROMETHEUS_MULTIPROC_DIR")  # fmt: skip


def scrape_every(servers: list[Server], seconds: float, stop: threading.Event) -> None:
    while not stop.wait(seconds):
        for server in servers:
            request = urllib.request.Request(
                server.base + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    response.read()
            except OSError as exc:
                print(f"    scrape of {server.base} failed: {exc}", file=sys.stderr)


def retry(action, attempts: int = 20):
    """`action()`, again every 3 s while PostgreSQL (shared with others) has no free connection."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - psql's exit status, psycopg2's refusal
            if attempt == attempts - 1:
                raise
            print(f"    {exc!s:.80}; again in 3 s", file=sys.stderr)
            time.sleep(3)


def drop(pg_db: str) -> None:
    retry(lambda: psql(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--endpoints", default="typical,user,floor")
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "18530")))
    parser.add_argument("--pg-prefix", default=os.environ.get("BENCH_PG_PREFIX", "overworld_bench"))
    args = parser.parse_args()
    names = [name.strip() for name in args.variants.split(",")]
    # Terminated, still stop the servers and drop the database (the finally block below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    workdir = Path(tempfile.mkdtemp(prefix="overworld-overhead-"))
    pg_db = f"{args.pg_prefix}_overhead_{os.getpid()}"
    psql(f"DROP DATABASE IF EXISTS {pg_db}")
    psql(f"CREATE DATABASE {pg_db}")
    database_url = f"postgres://postgres@127.0.0.1:5432/{pg_db}"
    servers: dict[str, Server] = {}
    stop = threading.Event()
    try:
        print(f"== seeding {pg_db}", file=sys.stderr)
        info = prepare(database_url, [1000], workdir)
        # The sampler's own connection (pg_stat_activity), taken now and kept: PostgreSQL is
        # shared with other work and may have no connection to spare later.
        retry(lambda: _pg_backends(pg_db))
        for offset, name in enumerate(names):
            for key in CLEARED:
                os.environ.pop(key, None)
            os.environ.update(VARIANTS[name])
            servers[name] = Server(database_url, args.port + offset, workdir)
        scraped = [servers[name] for name in names if name != "off"]
        threading.Thread(target=scrape_every, args=(scraped, 5.0, stop), daemon=True).start()
        endpoints = [
            Endpoint("typical", "profile, typical", "/api/users/typical", args.connections),
            Endpoint("user", "GET user/ (token)", "/api/users/user/", args.connections, auth=True),
            Endpoint("floor", "DRF floor (bench only)", "/bench/floor/", args.connections),
        ]
        endpoints = [ep for ep in endpoints if ep.name in args.endpoints.split(",")]
        for name in names:
            for ep in endpoints:
                run_wrk(servers[name].base + ep.path, connections=ep.connections, seconds=2,
                        token=info["token"] if ep.auth else None)  # fmt: skip
        runs = {(name, ep.name): [] for name in names for ep in endpoints}
        for round_ in range(args.rounds):
            # Alternate the order, so that neither variant always runs first after the other.
            order = names if round_ % 2 == 0 else names[::-1]
            for ep in endpoints:
                for name in order:
                    r = measure(servers[name], ep, seconds=args.duration, token=info["token"],
                                pg_db=pg_db, max_foreign=float("inf"))  # fmt: skip
                    runs[(name, ep.name)].append(r)
                    print(f"[{round_ + 1}/{args.rounds}] {ep.name:<8} {name:<5}"
                          f" {r['rps']:8.1f} rps  p50 {r['p50_ms']:6.1f} ms"
                          f"  process {r['process_cpu_ms_per_req']:.3f}"
                          f"  server {r['server_cpu_ms_per_req']:.3f} ms/req"
                          f"  foreign {r['foreign_cores']:.2f}", file=sys.stderr)  # fmt: skip
    finally:
        stop.set()
        for server in servers.values():
            server.stop()
        drop(pg_db)
        shutil.rmtree(workdir, ignore_errors=True)

    print("| endpoint | variant | rps | p50 ms | process CPU ms/req | server CPU ms/req "
          "| process CPU vs off (median of rounds) | max foreign (cores) | errors |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for ep in endpoints:
        base = runs[("off", ep.name)] if "off" in names else None
        for name in names:
            rs = runs[(name, ep.name)]
            if base is not None and name != "off":
                ratios = [r["process_cpu_ms_per_req"] / b["process_cpu_ms_per_req"] - 1
                          for r, b in zip(rs, base, strict=True)]  # fmt: skip
                versus = f"{100 * statistics.median(ratios):+.1f} %"
            else:
                versus = "-"
            errors = sum(r["non_2xx"] + r["socket_errors"] for r in rs)
            foreign = max(r["foreign_cores"] for r in rs)
            print(f"| {ep.label} | {name} | {statistics.median(r['rps'] for r in rs):.0f} "
                  f"| {statistics.median(r['p50_ms'] for r in rs):.1f} "
                  f"| {statistics.median(r['process_cpu_ms_per_req'] for r in rs):.3f} "
                  f"| {statistics.median(r['server_cpu_ms_per_req'] for r in rs):.3f} "
                  f"| {versus} | {foreign:.2f} | {errors} |")  # fmt: skip


if __name__ == "__main__":
    main()
