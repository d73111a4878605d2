"""CPU, connections and bytes per request of every route, for docs/scaling.md's capacity model.

    VENV=... $VENV/bin/python bench/scaling.py [--pgbouncer] [--requests 200]

Seeds a throwaway PostgreSQL database on 127.0.0.1:5432 (bench/prepare.py: a typical profile
of 4 x 50 games and 200/200 follows, and a celebrity), serves it with gunicorn as production
does (gunicorn.conf.py, debug off, Argon2), optionally through a PgBouncer of its own
(scripts/pgbouncer.sh, transaction pooling), and sends each route's requests one after another
on one keep-alive connection. Around each route it reads from /proc the CPU time of the
gunicorn workers, of the PostgreSQL backends serving this database (found by their command
line, as pg_stat_activity lists them) and of PgBouncer: CPU per request on each side,
whatever else the machine is doing. Wall-clock throughput is not measured: the machine is
shared. Then it prints the table and the capacity model for the request mix below.
"""

import argparse
import http.client
import json
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import Server, _pg_backends, _proc_cpu, prepare, psql  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "scaling-bench-password-42"

# The frontend's traffic at the design peak, shares of all requests: every page load calls
# user/; most page loads are a profile (signed-in readers more than anonymous ones); a follow is
# followed by re-reading both profiles (those reads are in the profile shares); settings saves,
# logins and registrations are rare. Logins: about one per daily user per day, peaking at ~3x.
MIX = {
    "user": 0.45,
    "profile_token": 0.344,
    "profile_anon": 0.15,
    "follow": 0.02,
    "unfollow": 0.02,
    "update": 0.01,
    "login": 0.005,
    "register": 0.001,
}
PEAK_RPS = 5000
# Plan cores at this utilisation: headroom for bursts, GC pauses and a lost machine.
UTILISATION = 0.6


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Client:
    """One keep-alive HTTP connection, like a browser tab."""

    def __init__(self, base: str):
        host, port = base.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)

    def send(self, method: str, path: str, body=None, token=None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        payload = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()


def measure_route(server, client, pg_db, bouncer_pid, requests) -> dict:
    """Send `requests` (a list of (method, path, body, token)) and split their CPU."""
    workers = server.workers()
    backends = _pg_backends(pg_db)
    app_before = sum(map(_proc_cpu, workers))
    db_before = sum(map(_proc_cpu, backends))
    bouncer_before = _proc_cpu(bouncer_pid) if bouncer_pid else 0.0
    sizes, statuses = [], set()
    for method, path, body, token in requests:
        status, raw = client.send(method, path, body, token)
        statuses.add(status)
        sizes.append(len(raw))
    time.sleep(0.2)  # let the backends finish their bookkeeping
    backends_after = _pg_backends(pg_db)
    new = [pid for pid in backends_after if pid not in backends]
    n = len(requests)
    return {
        "requests": n,
        "statuses": sorted(statuses),
        "app_cpu_ms": 1000 * (sum(map(_proc_cpu, workers)) - app_before) / n,
        "db_cpu_ms": 1000
        * (sum(map(_proc_cpu, backends)) + sum(map(_proc_cpu, new)) - db_before)
        / n,
        "bouncer_cpu_ms": 1000
        * ((_proc_cpu(bouncer_pid) if bouncer_pid else 0) - bouncer_before)
        / n,
        "bytes": statistics.mean(sizes),
        "db_backends": len(backends_after),
    }


def routes(info: dict, n: int, tag: str) -> dict[str, list]:
    token = info["token"]
    typical = info["typical"]
    auth_n = max(5, n // 20)
    fans = [f"fan{i}" for i in range(1, n + 1)]
    names = [f"sc{tag}{i}" for i in range(auth_n)]
    return {
        "user": [("GET", "/api/users/user/", None, token)] * n,
        "profile_anon": [("GET", f"/api/users/{typical}", None, None)] * n,
        "profile_token": [("GET", f"/api/users/{typical}", None, token)] * n,
        # typical already follows fan1..fan200: unfollow them, then follow them back.
        "unfollow": [("POST", "/api/users/unfollow/", {"username": f}, token) for f in fans],
        "follow": [("POST", "/api/users/follow/", {"username": f}, token) for f in fans],
        "update": [
            ("POST", f"/api/users/profile/{typical}", {"bio": f"bio {i}"}, token) for i in range(n)
        ],
        "register": [
            (
                "POST",
                "/api/users/register/",
                {"username": name, "email": f"{name}@example.com", "password": PASSWORD},
                None,
            )
            for name in names
        ],  # fmt: skip
        "login": [("POST", "/api/users/login/", {"username": names[0], "password": PASSWORD}, None)]
        * auth_n,
        "celebrity": [
            ("GET", f"/api/users/{name}", None, None) for name in info["celebrities"].values()
        ]
        * max(3, n // 50),
    }


def capacity(results: dict) -> dict:
    """The mix at PEAK_RPS: cores on each side, from the measured CPU per request."""
    app = sum(share * results[r]["app_cpu_ms"] for r, share in MIX.items()) * PEAK_RPS / 1000
    reads = ("profile_token", "profile_anon")
    db_replica = sum(MIX[r] * results[r]["db_cpu_ms"] for r in reads) * PEAK_RPS / 1000
    db_primary = (
        sum(MIX[r] * results[r]["db_cpu_ms"] for r in MIX if r not in reads) * PEAK_RPS / 1000
    )
    bouncer = (
        sum(share * results[r]["bouncer_cpu_ms"] for r, share in MIX.items()) * PEAK_RPS / 1000
    )
    out_bytes = sum(share * results[r]["bytes"] for r, share in MIX.items()) * PEAK_RPS
    return {
        "busy_cores": {
            "app": round(app, 1),
            "db_primary_without_replicas_share": round(db_primary, 2),
            "db_profile_reads": round(db_replica, 2),
            "pgbouncer": round(bouncer, 2),
        },
        "planned_cores_at_utilisation": {
            "app": round(app / UTILISATION, 1),
            "db_primary": round(db_primary / UTILISATION, 1),
            "db_replicas_total": round(db_replica / UTILISATION, 1),
        },
        "response_bytes_per_s": round(out_bytes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per cheap route")
    parser.add_argument("--celebrity", type=int, default=100_000, help="followers of the celebrity")
    parser.add_argument("--pgbouncer", action="store_true", help="serve through PgBouncer")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "scaling.json"))
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="overworld-scaling-"))
    workdir.chmod(0o711)  # PgBouncer runs as postgres and must reach its directory in here
    pg_db = f"overworld_scaling_{os.getpid()}"
    psql(f"CREATE DATABASE {pg_db}")
    server = None
    bouncer_dir = workdir / "pgbouncer"
    try:
        direct = f"postgres://postgres@127.0.0.1:5432/{pg_db}"
        info = prepare(direct, [args.celebrity], workdir)
        database_url, bouncer_pid = direct, None
        if args.pgbouncer:
            port = free_port()
            subprocess.run(
                [str(ROOT / "scripts" / "pgbouncer.sh"), "start", str(bouncer_dir), str(port)],
                check=True,
            )
            bouncer_pid = int((bouncer_dir / "pgbouncer.pid").read_text())
            database_url = f"postgres://postgres@127.0.0.1:{port}/{pg_db}"
            os.environ["DJANGO_DISABLE_SERVER_SIDE_CURSORS"] = "1"
        os.environ.update(
            {"OVERWORLD_THROTTLE_AUTH": "1000000/min", "OVERWORLD_THROTTLE_LOGIN_FAILURES": "none"}
        )
        server = Server(database_url, free_port(), workdir)
        client = Client(server.base)
        plan = routes(info, args.requests, secrets.token_hex(3))
        # Warm every route once: imports, connections, plan caches.
        for name in ("user", "profile_anon", "profile_token", "update"):
            measure_route(server, client, pg_db, bouncer_pid, plan[name][:5])
        results = {}
        for name, requests in plan.items():
            results[name] = measure_route(server, client, pg_db, bouncer_pid, requests)
            r = results[name]
            print(
                f"{name:<14} n={r['requests']:<4} app {r['app_cpu_ms']:7.2f} ms  db"
                f" {r['db_cpu_ms']:6.2f} ms  pgbouncer {r['bouncer_cpu_ms']:5.2f} ms"
                f"  {r['bytes']:>9.0f} B  statuses {r['statuses']}  backends {r['db_backends']}",
                file=sys.stderr,
            )
        model = capacity(results)
        report = {
            "pgbouncer": args.pgbouncer,
            "celebrity_followers": args.celebrity,
            "mix": MIX,
            "peak_rps": PEAK_RPS,
            "utilisation": UTILISATION,
            "routes": results,
            "model": model,
            "gunicorn": {"workers": 2, "threads": 4},
            "loadavg": os.getloadavg(),
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(json.dumps(model, indent=2))
    finally:
        if server:
            server.stop()
        if args.pgbouncer:
            subprocess.run([str(ROOT / "scripts" / "pgbouncer.sh"), "stop", str(bouncer_dir)])
        psql(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
