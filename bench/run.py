"""The Overworld benchmark: seed throwaway databases, serve them as production does, load them.

Usage (through bench/run.sh, which prepares the venv and wrk): see docs/performance.md.

For each database (a temporary SQLite file, then a throwaway PostgreSQL database that is
created and dropped here) it:
1. migrates and seeds it (bench/prepare.py), and measures queries and bytes per endpoint
   in-process;
2. starts gunicorn with gunicorn.conf.py, DJANGO_DEBUG=0 and bench.settings (the project's
   settings plus the bench-only DRF-floor route) on 127.0.0.1;
3. drives each endpoint with wrk on loopback: a warm-up, then `--repeats` bounded runs, round
   robin, so every repeat has its own floor to take ratios against;
4. samples /proc around every run, three ways:
   - server CPU: the gunicorn master and workers plus this database's PostgreSQL backends
     (found through pg_stat_activity);
   - process CPU: the server CPU plus wrk's -- everything the benchmark itself runs, and
     nothing else, so it stays meaningful on a machine shared with other work;
   - machine CPU: the whole machine's busy time from /proc/stat (gunicorn, PostgreSQL, the
     kernel, wrk and anything else running): the issue's measure, exact only on a quiet box.
   The difference is the foreign load; a run with more than --max-foreign of a core is retried
   once.
It prints a Markdown table of medians and writes every raw figure to bench/results/.
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(sys.executable).parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Endpoint:
    name: str
    label: str
    path: str
    connections: int
    auth: bool = False
    headers: tuple = ()  # extra request headers, "Name: value"
    script: tuple = ()  # a wrk Lua script and its arguments: one thread per connection


# --- /proc sampling ---------------------------------------------------------------------------


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) of one process; 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot (every core summed)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


_pg_admin = None


def _pg_backends(dbname: str | None) -> list[int]:
    """The pids of the PostgreSQL backends connected to `dbname` (not this sampler's own)."""
    global _pg_admin
    if not dbname:
        return []
    import psycopg2

    if _pg_admin is None:
        _pg_admin = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
        _pg_admin.autocommit = True
    with _pg_admin.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [dbname],
        )
        return [pid for (pid,) in cursor.fetchall()]


# --- wrk ----------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def run_wrk(
    url: str, *, connections: int, seconds: float, token: str | None, headers=(), script=None
) -> dict:
    threads = connections if script else min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{int(seconds)}s", "--latency"]
    cmd += ["--timeout", "30s"]
    if token:
        cmd += ["-H", f"Authorization: Token {token}"]
    for header in headers:
        cmd += ["-H", header]
    if script:
        cmd += ["-s", str(script[0])]
    arguments = ["--", *script[1:]] if script else []
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([*cmd, url, *arguments], stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {text}")
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "output": text,
        "requests": requests,
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1)),
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)),
        "wrk_cpu_s": usage.ru_utime + usage.ru_stime,
        "non_2xx": 0,
        "socket_errors": 0,
    }
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", text):
        result["non_2xx"] = int(match.group(1))
    errors = r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
    if match := re.search(errors, text):
        result["socket_errors"] = sum(int(g) for g in match.groups())
    return result


# --- the server ---------------------------------------------------------------------------------


class Server:
    """gunicorn as production runs it (gunicorn.conf.py), with the bench settings module."""

    def __init__(self, database_url: str, port: int, logdir: Path):
        self.base = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": database_url,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            # The frontend mix logs in and registers far more often than a real client may.
            "OVERWORLD_THROTTLE_AUTH": "1000000/min",
        }
        self.env.pop("REDIS_URL", None)
        self.log = open(logdir / f"gunicorn-{port}.log", "a")  # noqa: SIM115
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "overworld.wsgi"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/bench/floor/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {self.log.name}")
            time.sleep(0.3)

    def ensure_running(self) -> None:
        """Restart the server if it died (on a shared machine something may kill it)."""
        if self.proc.poll() is not None:
            print(f"    gunicorn exited ({self.proc.returncode}); restarting", file=sys.stderr)
            self.start()

    def workers(self) -> list[int]:
        """The master and its workers."""
        return [self.proc.pid, *_children(self.proc.pid)]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def measure(
    server: Server,
    endpoint: Endpoint,
    *,
    seconds: float,
    token: str,
    pg_db: str | None,
    max_foreign: float,
) -> dict:
    """One bounded wrk run with its CPU split; retried once when the box was busy."""
    for attempt in (1, 2):
        server.ensure_running()
        workers = server.workers()
        backends = _pg_backends(pg_db)
        cpu_before = sum(map(_proc_cpu, workers + backends))
        busy_before, wall_before = _busy_seconds(), time.monotonic()
        result = run_wrk(
            server.base + endpoint.path,
            connections=endpoint.connections,
            seconds=seconds,
            token=token if endpoint.auth else None,
            headers=endpoint.headers,
            script=endpoint.script,
        )
        result["routes"] = {
            route: {key: float(value) for key, value in re.findall(r"(\w+)=([\d.]+)", rest)}
            for route, rest in re.findall(r"^ROUTE (\w+) (.*)$", result.pop("output"), re.M)
        }
        wall = time.monotonic() - wall_before
        busy = _busy_seconds() - busy_before
        # Backends that appeared during the run started from zero.
        backends_after = _pg_backends(pg_db)
        new_backends = [pid for pid in backends_after if pid not in backends]
        server_cpu = sum(map(_proc_cpu, workers + backends)) - cpu_before
        server_cpu += sum(map(_proc_cpu, new_backends))
        foreign = max(0.0, busy - server_cpu - result["wrk_cpu_s"]) / wall
        requests = max(result["requests"], 1)
        result.update(
            server_cpu_ms_per_req=1000 * server_cpu / requests,
            process_cpu_ms_per_req=1000 * (server_cpu + result["wrk_cpu_s"]) / requests,
            machine_cpu_ms_per_req=1000 * busy / requests,
            foreign_cores=foreign,
            attempt=attempt,
        )
        if foreign <= max_foreign:
            break
        print(f"    busy box ({foreign:.2f} cores foreign), retrying once", file=sys.stderr)
    return result


# --- databases ----------------------------------------------------------------------------------


def psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql],
        check=True,
    )


def prepare(database_url: str, celebrities: list[int], workdir: Path) -> dict:
    out = workdir / "prepare.json"
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "bench.settings"}
    env.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    env.pop("REDIS_URL", None)
    subprocess.run(
        [PYTHON, "-W", "ignore", "bench/prepare.py", "--celebrities",
         ",".join(map(str, celebrities)), "--out", str(out), "--mix", str(workdir / "mix.txt")],
        cwd=ROOT, env=env, check=True,
    )  # fmt: skip
    return json.loads(out.read_text())


# --- one database -------------------------------------------------------------------------------


def bench_database(vendor: str, args, workdir: Path) -> dict:
    pg_db = None
    celebrities = [100_000]
    if vendor == "postgresql":
        celebrities = sorted(set(celebrities) | set(args.curve))
        pg_db = f"{args.pg_prefix}_{os.getpid()}"
        psql(f"DROP DATABASE IF EXISTS {pg_db}")
        psql(f"CREATE DATABASE {pg_db}")
        database_url = f"postgres://postgres@127.0.0.1:5432/{pg_db}"
    else:
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    server = None
    try:
        print(f"== {vendor}: seeding (celebrities {celebrities})", file=sys.stderr)
        info = prepare(database_url, celebrities, workdir)
        print(f"   seeded in {info['seed_seconds']} s", file=sys.stderr)
        server = Server(database_url, args.port, workdir)
        endpoints = [
            Endpoint("floor", "DRF floor (bench only)", "/bench/floor/", 16),
            Endpoint("user", "GET user/ (token)", "/api/users/user/", 16, auth=True),
            Endpoint(
                "typical",
                "profile, typical (4x50 games, 200/200 follows)",
                "/api/users/typical",
                16,
            ),  # fmt: skip
            Endpoint(
                "typical_auth",
                "profile, typical, with a token (me, followingUser)",
                "/api/users/typical",
                16,
                auth=True,
            ),  # fmt: skip
            Endpoint(
                "celeb100000",
                "profile, celebrity (100k followers), c2",
                "/api/users/celeb100000",
                2,
            ),  # fmt: skip
        ]
        mix = bench_mix(server, args, workdir, pg_db) if args.mix_duration else {}
        runs = {}
        if args.skip_endpoints:
            endpoints = []
        else:
            runs = run_rounds(server, endpoints, args, info["token"], pg_db)
        curve = {}
        if vendor == "postgresql" and args.curve:
            curve_eps = [
                Endpoint(f"celeb{n}", f"celebrity {n}", f"/api/users/celeb{n}", 1)
                for n in args.curve
            ]
            curve_runs = run_rounds(server, curve_eps, args, info["token"], pg_db, floor=False)
            for ep in curve_eps:
                curve[ep.name] = {
                    "followers": int(ep.name[5:]),
                    "p50_ms": statistics.median(r["p50_ms"] for r in curve_runs[ep.name]),
                    "p99_ms": statistics.median(r["p99_ms"] for r in curve_runs[ep.name]),
                    "server_cpu_ms_per_req": statistics.median(
                        r["server_cpu_ms_per_req"] for r in curve_runs[ep.name]
                    ),
                    "bytes": info["inproc"][ep.name]["bytes"],
                    "queries": info["inproc"][ep.name]["queries"],
                    "runs": curve_runs[ep.name],
                }
        wire = bench_wire(server, args, info, pg_db, [n for n in args.wire if n in celebrities])
        return {"vendor": vendor, "info": info, "endpoints": summarise(endpoints, runs, info),
                "curve": curve, "wire": wire, "mix": mix}  # fmt: skip
    finally:
        if server:
            server.stop()
        if pg_db:
            psql(f"DROP DATABASE IF EXISTS {pg_db} WITH (FORCE)")


def bench_mix(server, args, workdir, pg_db) -> dict:
    """The frontend's own mix (bench/frontend_mix.lua) at fixed concurrency, one run."""
    tag = f"{os.getpid()}{int(time.time()) % 100000}"
    script = (str(ROOT / "bench" / "frontend_mix.lua"), str(workdir / "mix.txt"), tag)
    ep = Endpoint("mix", "frontend mix", "/", args.mix_connections, script=script)
    print(f"   frontend mix: {args.mix_connections} connections, {args.mix_duration} s",
          file=sys.stderr)  # fmt: skip
    # Never retried: one minute is long enough to carry some foreign load, which is recorded.
    result = measure(server, ep, seconds=args.mix_duration, token=None, pg_db=pg_db,
                     max_foreign=float("inf"))  # fmt: skip
    result.update(connections=args.mix_connections, seconds=args.mix_duration)
    for route, r in sorted(result["routes"].items()):
        print(f"     {route:<9} {r['rps']:8.1f}/s  p50 {r['p50']:.1f} ms  p99 {r['p99']:.1f} ms"
              f"  errors {int(r['errors'])}", file=sys.stderr)  # fmt: skip
    return result


def bench_wire(server, args, info, pg_db, counts) -> dict:
    """Bytes and latency of big profiles: plain, gzip (Accept-Encoding) and 304 (If-None-Match)."""
    endpoints, sizes = [], {}
    for count in counts:
        path = f"/api/users/{info['celebrities'][str(count)]}"
        with urllib.request.urlopen(server.base + path, timeout=30) as response:
            plain, etag = response.read(), response.headers["ETag"]
        request = urllib.request.Request(server.base + path, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            compressed = response.read()
        sizes[count] = {"plain": len(plain), "gzip": len(compressed), "304": 0}
        for variant, headers in (
            ("plain", ()),
            ("gzip", ("Accept-Encoding: gzip",)),
            ("304", (f"If-None-Match: {etag}",)),
        ):
            endpoints.append(
                Endpoint(f"{variant}_{count}", f"{count} {variant}", path, 1, headers=headers)
            )
    if not endpoints:
        return {}
    runs = run_rounds(server, endpoints, args, info["token"], pg_db)
    wire = {}
    for ep in endpoints:
        count, variant = int(ep.label.split()[0]), ep.label.split()[1]
        rs = runs[ep.name]
        wire[ep.name] = {
            "followers": count,
            "variant": variant,
            "body_bytes": sizes[count][variant],
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "process_cpu_ms_per_req": statistics.median(r["process_cpu_ms_per_req"] for r in rs),
            "runs": rs,
        }
    return wire


def run_rounds(server, endpoints, args, token, pg_db, floor=True) -> dict[str, list[dict]]:
    for ep in endpoints:
        print(f"   warm-up {ep.name}", file=sys.stderr)
        run_wrk(server.base + ep.path, connections=ep.connections, seconds=args.warmup,
                token=token if ep.auth else None, headers=ep.headers)  # fmt: skip
    runs = {ep.name: [] for ep in endpoints}
    for repeat in range(args.repeats):
        for ep in endpoints:
            result = measure(server, ep, seconds=args.duration, token=token, pg_db=pg_db,
                             max_foreign=args.max_foreign)  # fmt: skip
            result["repeat"] = repeat
            runs[ep.name].append(result)
            print(
                f"   [{repeat + 1}/{args.repeats}] {ep.name:<14} {result['rps']:>9.1f} rps"
                f"  p50 {result['p50_ms']:.1f} ms  cpu server {result['server_cpu_ms_per_req']:.2f}"
                f" process {result['process_cpu_ms_per_req']:.2f}"
                f" machine {result['machine_cpu_ms_per_req']:.2f}"
                f" ms/req  foreign {result['foreign_cores']:.2f}",
                file=sys.stderr,
            )
    return runs


def summarise(endpoints, runs, info) -> dict:
    if not endpoints:
        return {}
    floors = runs["floor"]

    def share(rs, key):
        """Median over repeats of floor CPU per request / this endpoint's, same repeat."""
        return statistics.median(f[key] / r[key] for r, f in zip(rs, floors, strict=True))

    summary = {}
    for ep in endpoints:
        rs = runs[ep.name]
        summary[ep.name] = {
            "share_machine_cpu": share(rs, "machine_cpu_ms_per_req"),
            "share_process_cpu": share(rs, "process_cpu_ms_per_req"),
            "machine_cpu_ms_per_req": statistics.median(r["machine_cpu_ms_per_req"] for r in rs),
            "process_cpu_ms_per_req": statistics.median(r["process_cpu_ms_per_req"] for r in rs),
            "label": ep.label,
            "connections": ep.connections,
            "rps": statistics.median(r["rps"] for r in rs),
            "ratio": statistics.median(
                r["rps"] / f["rps"] for r, f in zip(rs, floors, strict=True)
            ),
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs),
            "server_cpu_ms_per_req": statistics.median(r["server_cpu_ms_per_req"] for r in rs),
            "foreign_cores_max": max(r["foreign_cores"] for r in rs),
            "errors": sum(r["non_2xx"] + r["socket_errors"] for r in rs),
            "queries": info["inproc"][ep.name]["queries"],
            "bytes": info["inproc"][ep.name]["bytes"],
            "runs": rs,
        }
    return summary


# --- output -------------------------------------------------------------------------------------


def table(results: list[dict]) -> str:
    lines = [
        "| db | endpoint | conns | rps | share of floor: rps | share: machine CPU "
        "| share: process CPU | p50 ms | p99 ms | queries/req | bytes | machine CPU ms/req "
        "| process CPU ms/req | server CPU ms/req | max foreign load (cores) | errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for s in result["endpoints"].values():
            lines.append(
                f"| {result['vendor']} | {s['label']} | {s['connections']} | {s['rps']:.0f} "
                f"| {100 * s['ratio']:.1f} % | {100 * s['share_machine_cpu']:.1f} % "
                f"| {100 * s['share_process_cpu']:.1f} % "
                f"| {s['p50_ms']:.1f} | {s['p99_ms']:.1f} "
                f"| {s['queries']} | {s['bytes']} | {s['machine_cpu_ms_per_req']:.2f} "
                f"| {s['process_cpu_ms_per_req']:.2f} | {s['server_cpu_ms_per_req']:.2f} "
                f"| {s['foreign_cores_max']:.2f} | {s['errors']} |"
            )
    for result in results:
        if result.get("mix"):
            mix = result["mix"]
            lines += [
                "",
                f"Frontend mix ({result['vendor']}, {mix['connections']} connections, "
                f"{mix['seconds']} s): {mix['rps']:.0f} requests/s in all, "
                f"process CPU {mix['process_cpu_ms_per_req']:.2f} ms/req, machine CPU "
                f"{mix['machine_cpu_ms_per_req']:.2f} ms/req, foreign load "
                f"{mix['foreign_cores']:.2f} cores, wrk non-2xx/socket errors "
                f"{mix['non_2xx'] + mix['socket_errors']}",
                "",
                "| route | requests/s | p50 ms | p99 ms | unexpected statuses |",
                "|---|---|---|---|---|",
            ]
            for route, r in sorted(mix["routes"].items()):
                lines.append(
                    f"| {route} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p99']:.1f} "
                    f"| {int(r['errors'])} |"
                )
    for result in results:
        if result.get("wire"):
            lines += [
                "",
                f"Bytes on the wire ({result['vendor']}, wrk -c1):",
                "",
                "| followers | variant | body bytes | p50 ms | process CPU ms/req |",
                "|---|---|---|---|---|",
            ]
            for w in result["wire"].values():
                lines.append(
                    f"| {w['followers']} | {w['variant']} | {w['body_bytes']} "
                    f"| {w['p50_ms']:.1f} | {w['process_cpu_ms_per_req']:.1f} |"
                )
    for result in results:
        if result["curve"]:
            lines += [
                "",
                f"Cost curve ({result['vendor']}, wrk -c1):",
                "",
                "| followers | p50 ms | p99 ms | bytes | server CPU ms/req | queries |",
                "|---|---|---|---|---|---|",
            ]
            for c in result["curve"].values():
                lines.append(
                    f"| {c['followers']} | {c['p50_ms']:.1f} | {c['p99_ms']:.1f} | {c['bytes']} "
                    f"| {c['server_cpu_ms_per_req']:.1f} | {c['queries']} |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgresql", help="comma list: sqlite,postgresql")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--curve", default="1000,10000,100000,1000000",
        help="follower counts for the PostgreSQL cost curve ('' to skip)",
    )  # fmt: skip
    parser.add_argument("--mix-duration", type=int, default=60,
                        help="seconds of the frontend mix (0 to skip)")  # fmt: skip
    parser.add_argument("--mix-connections", type=int, default=16)
    parser.add_argument("--skip-endpoints", action="store_true",
                        help="skip the per-endpoint rounds (mix, curve, wire only)")  # fmt: skip
    parser.add_argument(
        "--wire", default="100000,1000000",
        help="celebrity sizes measured plain, gzipped and 304 ('' to skip)",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "18500")))
    parser.add_argument("--pg-prefix", default=os.environ.get("BENCH_PG_PREFIX", "overworld_bench"))
    parser.add_argument(
        "--max-foreign", type=float, default=0.15,
        help="retry a run once when other processes used more cores than this",
    )  # fmt: skip
    parser.add_argument("--out", default=None, help="JSON results path")
    parser.add_argument("--plot", default=str(ROOT / "docs" / "profile-cost-curve.png"))
    args = parser.parse_args()
    args.curve = [int(n) for n in args.curve.split(",") if n.strip()]
    args.wire = [int(n) for n in args.wire.split(",") if n.strip()]

    # Interrupted or terminated (even from a background job, which ignores SIGINT), still stop
    # the server and drop the database in the finally blocks.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (bench/run.sh installs it)")
    workdir = Path(tempfile.mkdtemp(prefix="overworld-bench-"))
    results = []
    try:
        for vendor in args.db.split(","):
            vendor = {"postgres": "postgresql"}.get(vendor.strip(), vendor.strip())
            results.append(bench_database(vendor, args, workdir))
    except BaseException:
        kept = ROOT / "bench" / "results" / f"failed-{time.strftime('%Y%m%d-%H%M%S')}"
        shutil.copytree(workdir, kept, ignore=shutil.ignore_patterns("*.sqlite3*"))
        print(f"failed; logs kept in {kept}", file=sys.stderr)
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    machine = {
        "nproc": os.cpu_count(),
        "cpu": next(
            (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
            "?",
        ),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "loadavg_end": Path("/proc/loadavg").read_text().split()[:3],
    }
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(args.out) if args.out else ROOT / "bench" / "results" / f"{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = vars(args) | {"curve": args.curve}
    out.write_text(json.dumps({"machine": machine, "args": settings, "results": results}, indent=2))
    print(f"\nmachine: {machine}\nraw results: {out}\n")
    print(table(results))
    if any(r["curve"] for r in results) and args.plot:
        subprocess.run([PYTHON, str(ROOT / "bench" / "plot.py"), str(out), args.plot], check=True)
        print(f"\ncost curve plotted to {args.plot}")


if __name__ == "__main__":
    main()
