"""Serving configurations side by side: gunicorn worker class, workers x threads, reuse_port.

Usage: python bench/serving.py --database-url URL --token TOKEN [--configs ...]
against an already seeded benchmark database (bench/prepare.py). For each round, every
configuration in turn is started with gunicorn.conf.py and the environment it names, and loaded
with wrk on the floor, GET user/ and the typical profile; the table has medians of the rounds
(docs/performance.md, "Serving").
"""

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import Endpoint, Server, measure, run_wrk  # noqa: E402

CONFIGS = {
    "gthread 2x4": {"GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4"},
    "gthread 2x4 reuse_port": {
        "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4", "GUNICORN_REUSE_PORT": "1"
    },
    "gthread 4x2": {"GUNICORN_WORKERS": "4", "GUNICORN_THREADS": "2"},
    "gthread 3x2": {"GUNICORN_WORKERS": "3", "GUNICORN_THREADS": "2"},
    "gthread 2x1": {"GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "1"},
    "sync 4": {"GUNICORN_WORKER_CLASS": "sync", "GUNICORN_WORKERS": "4"},
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=18521)
    parser.add_argument("--pg-db", default=None, help="database name, for its backends' CPU")
    args = parser.parse_args()
    names = [name.strip() for name in args.configs.split(",")]
    endpoints = [
        Endpoint("floor", "floor", "/bench/floor/", args.connections),
        Endpoint("user", "user/", "/api/users/user/", args.connections, auth=True),
        Endpoint("typical", "typical profile", "/api/users/typical", args.connections),
    ]
    results = {name: {ep.name: [] for ep in endpoints} for name in names}
    logdir = Path(tempfile.mkdtemp(prefix="overworld-serving-"))
    import os

    for round_ in range(args.rounds):
        for name in names:
            os.environ.update({"GUNICORN_WORKER_CLASS": "gthread", "GUNICORN_REUSE_PORT": "0"})
            os.environ.update(CONFIGS[name])
            server = Server(args.database_url, args.port, logdir)
            try:
                for ep in endpoints:
                    run_wrk(server.base + ep.path, connections=ep.connections, seconds=1,
                            token=args.token if ep.auth else None)  # fmt: skip
                    r = measure(server, ep, seconds=args.duration, token=args.token,
                                pg_db=args.pg_db, max_foreign=float("inf"))  # fmt: skip
                    results[name][ep.name].append(r)
                    print(f"[{round_ + 1}] {name:<24} {ep.name:<8} {r['rps']:8.1f} rps"
                          f"  p50 {r['p50_ms']:6.1f}  p99 {r['p99_ms']:6.1f}"
                          f"  process {r['process_cpu_ms_per_req']:.2f} ms/req"
                          f"  foreign {r['foreign_cores']:.2f}", file=sys.stderr)  # fmt: skip
            finally:
                server.stop()
    print("| configuration | endpoint | rps | p50 ms | p99 ms | process CPU ms/req "
          "| max foreign (cores) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for name in names:
        for ep in endpoints:
            rs = results[name][ep.name]
            print(f"| {name} | {ep.label} | {statistics.median(r['rps'] for r in rs):.0f} "
                  f"| {statistics.median(r['p50_ms'] for r in rs):.1f} "
                  f"| {statistics.median(r['p99_ms'] for r in rs):.1f} "
                  f"| {statistics.median(r['process_cpu_ms_per_req'] for r in rs):.2f} "
                  f"| {max(r['foreign_cores'] for r in rs):.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
