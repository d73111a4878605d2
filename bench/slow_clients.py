"""Slow clients against a running server, while a visitor measures what normal requests get.

The four phases of issue 15, one at a time, each for `phase_seconds`:

- idle:    2,000 connections opened, nothing sent;
- headers: 1,000 clients sending a request line, then one header line every 2 s;
- body:    333 clients POSTing a 200-byte login body, one byte every 2 s;
- readers: 100 clients reading a 100,000-follower profile, 1 KiB every 0.5 s.

Throughout each phase a visitor fetches a profile on a fresh connection every 50 ms (open loop:
a slow answer does not delay the next request). Per phase the report has the visitor's requests,
the share answered 200, p50/p99 latency (a request that fails counts at the time it failed), the
slow clients still open at the end and how long the server took to cut off the others; with
`pids` (the server's root process), the peak RSS and the CPU time of that process tree.

Loopback only, bounded in count and time. Stdlib only, so any interpreter can run it:

    python bench/slow_clients.py --url http://127.0.0.1:18000 --phase-seconds 15 \\
        [--phases idle,headers,body,readers] [--visitor-path P] [--reader-path P] [--pid PID]

prints JSON; `run(url, phases=..., phase_seconds=...)` returns the same dict. The reader phase
needs the 100,000-follower user: `python bench/slow_clients.py seed` (Django's settings and
DATABASE_URL from the environment) inserts it in bulk, once.
"""

import argparse
import asyncio
import json
import os
import resource
import socket
import ssl
import statistics
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

PHASES = ("idle", "headers", "body", "readers")
COUNTS = {"idle": 2000, "headers": 1000, "body": 333, "readers": 100}
VISITOR_PATH = "/api/users/madeline"
READER_PATH = "/api/users/celeb100000"
LOGIN_PATH = "/api/users/login/"
CELEBRITY_FOLLOWERS = 100_000
VISITOR_INTERVAL = 0.05
VISITOR_TIMEOUT = 5.0
DRIP_INTERVAL = 2.0  # headers and body: one line / one byte this often
READ_INTERVAL = 0.5  # readers: 1 KiB this often
READ_CHUNK = 1024
BODY_BYTES = 200
OPEN_CONCURRENCY = 200  # connects in flight at once while a phase opens its clients
# Slow clients arrive spread over this many seconds from the phase's start. 0 is all at once
# (idle, headers, body: each costs the server nothing but a connection). The readers arrive over
# 5 s: 100 requests for a 0.6 MB profile at the same instant are a request burst (about 1.5 s
# of CPU queued ahead of the visitor on any FIFO server, measured on every stack in
# docs/performance.md), which is not what this phase is about -- slow reading of an answer.
RAMP_SECONDS = {"idle": 0.0, "headers": 0.0, "body": 0.0, "readers": 5.0}


def raise_nofile_limit() -> int:
    """Raise this process's open-file limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


# --- the served processes: RSS and CPU from /proc ---------------------------------------------


def process_tree(roots) -> list[int]:
    """`roots` (a pid or a list of pids) and every process descended from them (Linux /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [roots] if isinstance(roots, int) else list(roots)
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (children already reaped count in their parent)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
    return total


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has been busy since boot, every core summed (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- clients ----------------------------------------------------------------------------------


@dataclass
class Target:
    host: str
    port: int
    host_header: str
    # https:// (the edge, deploy/nginx): every client but the idle ones speaks TLS. Loopback
    # only, so the server's certificate (a throwaway self-signed one) is not checked.
    tls: ssl.SSLContext | None = None

    @classmethod
    def parse(cls, url: str) -> "Target":
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise ValueError("only http:// and https:// URLs")
        host = parts.hostname or "127.0.0.1"
        if host not in {"127.0.0.1", "localhost", "::1"} and not host.startswith("127."):
            raise ValueError("loopback only")
        tls = None
        if parts.scheme == "https":
            tls = ssl.create_default_context()
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        port = parts.port or (443 if tls else 80)
        return cls(host, port, parts.netloc, tls)


@dataclass
class Slow:
    """One slow client: when it opened, and when (if) the server cut it off."""

    opened: float | None = None
    cut: float | None = None
    failed_to_open: bool = False
    answered: bytes = b""  # the first bytes the server sent it, if any (e.g. a 408 or 400)


@dataclass
class PhaseState:
    slow: list[Slow] = field(default_factory=list)
    visits: list[tuple[float, int]] = field(default_factory=list)  # (seconds, status or 0)
    peak_rss: int = 0


# How a fetch() fails: no connection, a timeout, a cut or garbled answer.
REQUEST_FAILED = (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, IndexError)


async def fetch(
    target: Target, path: str, timeout: float, source: str | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET `path` on a fresh connection, from the loopback address `source` if given:
    (status, headers with lowercase names, body). Raises on a failure."""
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                target.host,
                target.port,
                ssl=target.tls,
                local_addr=(source, 0) if source else None,
            )
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {target.host_header}\r\n"
                "Accept: application/json\r\nConnection: close\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            headers = {}
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name:
                    headers[name.strip().lower().decode()] = value.strip().decode()
            length = headers.get("content-length")
            if length is not None:
                body = await reader.readexactly(int(length))
            else:
                body = b""
                while chunk := await reader.read(65536):
                    body += chunk
            return status, headers, body
    finally:
        if writer is not None:
            writer.close()


async def visit(target: Target, path: str, timeout: float) -> tuple[float, int]:
    """(seconds, status), or (seconds, 0) for a request that failed."""
    started = time.monotonic()
    try:
        status, _headers, _body = await fetch(target, path, timeout)
        return time.monotonic() - started, status
    except REQUEST_FAILED:
        return time.monotonic() - started, 0


async def _watch_close(reader: asyncio.StreamReader, client: Slow) -> None:
    """Wait for the server to answer or close; mark the client cut off when it closes."""
    try:
        while True:
            data = await reader.read(4096)
            if not data:
                break
            if len(client.answered) < 64:
                client.answered += data[: 64 - len(client.answered)]
    except OSError:
        pass
    client.cut = time.monotonic()


async def slow_client(
    kind: str,
    target: Target,
    paths: dict,
    client: Slow,
    gate,
    delay: float = 0.0,
    source: str | None = None,
) -> None:
    """One slow client of `kind`, `delay` s from now, from the loopback address `source` if
    given; runs until cancelled or cut off."""
    writer = None
    try:
        await asyncio.sleep(delay)
        async with gate:
            sock = socket.socket(socket.AF_INET6 if ":" in target.host else socket.AF_INET)
            if kind == "readers":
                # A small receive buffer, so the kernel does not read the profile for us.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.setblocking(False)
            try:
                if source:
                    sock.bind((source, 0))
                await asyncio.wait_for(
                    asyncio.get_running_loop().sock_connect(sock, (target.host, target.port)), 10
                )
            except BaseException:
                sock.close()
                raise
            limit = READ_CHUNK if kind == "readers" else 65536
            # An idle client sends nothing at all, not even a TLS hello.
            tls = None if kind == "idle" else target.tls
            server_hostname = target.host if tls else None
            reader, writer = await asyncio.open_connection(
                sock=sock, limit=limit, ssl=tls, server_hostname=server_hostname
            )
        client.opened = time.monotonic()
        host = target.host_header
        if kind == "idle":
            await _watch_close(reader, client)
        elif kind == "headers":
            watcher = asyncio.create_task(_watch_close(reader, client))
            writer.write(f"GET {paths['visitor']} HTTP/1.1\r\nHost: {host}\r\n".encode())
            n = 0
            while client.cut is None:
                await asyncio.sleep(DRIP_INTERVAL)
                n += 1
                writer.write(f"X-Slow-{n}: {n}\r\n".encode())
                await writer.drain()
            await watcher
        elif kind == "body":
            watcher = asyncio.create_task(_watch_close(reader, client))
            writer.write(
                f"POST {paths['login']} HTTP/1.1\r\nHost: {host}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {BODY_BYTES}\r\n\r\n".encode()
            )
            body = (b'{"username": "slow", "password": "' + b"x" * BODY_BYTES)[: BODY_BYTES - 2]
            body += b'"}'
            for byte in body:
                if client.cut is not None:
                    break
                await asyncio.sleep(DRIP_INTERVAL)
                writer.write(bytes([byte]))
                await writer.drain()
            await watcher
        elif kind == "readers":
            writer.write(
                f"GET {paths['reader']} HTTP/1.1\r\nHost: {host}\r\n"
                "Accept: application/json\r\n\r\n".encode()
            )
            while True:
                data = await reader.read(READ_CHUNK)
                if not data:
                    client.cut = time.monotonic()
                    break
                if len(client.answered) < 64:
                    client.answered += data[: 64 - len(client.answered)]
                await asyncio.sleep(READ_INTERVAL)
    except (TimeoutError, OSError):
        if client.opened is None:
            client.failed_to_open = True
        elif client.cut is None:
            client.cut = time.monotonic()
    finally:
        if writer is not None:
            writer.close()


async def _per_client_cap(
    target: Target, paths: dict, cap: int, source: str, other: str, seconds: float
) -> dict:
    held = [Slow() for _ in range(cap)]
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    tasks = [
        asyncio.create_task(slow_client("body", target, paths, client, gate, source=source))
        for client in held
    ]

    async def first(wanted, address: str, deadline: float):
        """The first answer to `address` that `wanted` accepts, asking again until the
        deadline; past it, the last answer."""
        while True:
            try:
                answer = await fetch(target, paths["visitor"], VISITOR_TIMEOUT, address)
            except REQUEST_FAILED as exc:
                answer = (0, {}, repr(exc).encode())
            if wanted(answer[0]) or time.monotonic() >= deadline:
                return answer
            await asyncio.sleep(0.1)

    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not all(
            client.opened or client.failed_to_open for client in held
        ):
            await asyncio.sleep(0.1)
        # nginx counts a request once it has read its header: give it the last ones' before
        # asking, or the question could take the place of the last dribbler.
        await asyncio.sleep(1.0)
        refused = await first(lambda status: status != 200, source, deadline)
        other_answer = await first(lambda status: status != 0, other, deadline)
        # Held: open, neither cut nor answered (a refused dribbler gets its 429, then nginx
        # keeps the connection a while to read the rest of the body away).
        still_held = sum(
            1 for client in held if client.opened and client.cut is None and not client.answered
        )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    after = await first(lambda status: status == 200, source, time.monotonic() + 10)
    return {
        "held": still_held,
        "failed_to_open": sum(1 for client in held if client.failed_to_open),
        "answered": sum(1 for client in held if client.answered),
        "one_more": refused,
        "other_client": other_answer,
        "after_they_left": after,
    }


def per_client_cap(
    url: str,
    cap: int,
    source: str = "127.0.0.1",
    other: str = "127.0.0.2",
    visitor_path: str = VISITOR_PATH,
    seconds: float = 60,
) -> dict:
    """`cap` body dribblers from `source`, then: what one more request from `source` gets
    (`one_more`: status, headers, body), what one from `other` gets, and what `source` gets
    once the dribblers have gone; `held` of them still open when the others were asked."""
    raise_nofile_limit()
    paths = {"visitor": visitor_path, "login": LOGIN_PATH}
    return asyncio.run(_per_client_cap(Target.parse(url), paths, cap, source, other, seconds))


def _visitor(target: Target, path: str, started: float, deadline: float, out: list) -> None:
    """The visitor, open loop, in a thread and event loop of its own.

    Apart from the slow clients' loop, so that their own work (a thousand TLS handshakes at
    once, over https) does not delay the visitor's requests or their timing: what is measured
    is the server. The ssl module releases the GIL during handshakes and reads.
    """

    async def schedule() -> None:
        tasks = []
        next_visit = started
        while (now := time.monotonic()) < deadline:
            if now >= next_visit:
                tasks.append(asyncio.create_task(visit(target, path, VISITOR_TIMEOUT)))
                next_visit += VISITOR_INTERVAL
            await asyncio.sleep(max(0.0, min(next_visit, deadline) - time.monotonic()))
        out.extend(await asyncio.gather(*tasks))

    asyncio.run(schedule())


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def run_phase(
    kind: str,
    target: Target,
    paths: dict,
    seconds: float,
    count: int,
    pid: int | None,
    ramp: float = 0.0,
) -> dict:
    state = PhaseState(slow=[Slow() for _ in range(count)])
    gate = asyncio.Semaphore(OPEN_CONCURRENCY)
    started = time.monotonic()
    cpu_before = cpu_seconds(process_tree(pid)) if pid else 0.0
    busy_before, own_before = machine_busy_seconds(), own_cpu_seconds()
    slow_tasks = [
        asyncio.create_task(slow_client(kind, target, paths, client, gate, ramp * n / count))
        for n, client in enumerate(state.slow)
    ]
    deadline = started + seconds
    visits: list[tuple[float, int]] = []
    visitor = threading.Thread(
        target=_visitor, args=(target, paths["visitor"], started, deadline, visits), daemon=True
    )
    visitor.start()
    while (now := time.monotonic()) < deadline:
        if pid:
            state.peak_rss = max(state.peak_rss, rss_bytes(process_tree(pid)))
        await asyncio.sleep(max(0.0, min(now + 0.5, deadline) - time.monotonic()))
    ended = time.monotonic()
    still_open = sum(1 for c in state.slow if c.opened is not None and c.cut is None)
    for task in slow_tasks:
        task.cancel()
    await asyncio.gather(*slow_tasks, return_exceptions=True)
    await asyncio.to_thread(visitor.join)
    state.visits = visits
    cpu_after = cpu_seconds(process_tree(pid)) if pid else 0.0
    busy = machine_busy_seconds() - busy_before
    own = own_cpu_seconds() - own_before

    latencies = [elapsed for elapsed, _status in state.visits]
    ok = sum(1 for _elapsed, status in state.visits if status == 200)
    cut_after = [c.cut - c.opened for c in state.slow if c.opened and c.cut and c.cut <= ended]
    answers: dict[str, int] = {}
    for c in state.slow:
        if c.answered:
            line = c.answered.split(b"\r\n", 1)[0].decode("latin-1")[:40]
            answers[line] = answers.get(line, 0) + 1
    report = {
        "slow_clients": count,
        "opened": sum(1 for c in state.slow if c.opened is not None),
        "failed_to_open": sum(1 for c in state.slow if c.failed_to_open),
        "cut_off": len(cut_after),
        "still_open_at_end": still_open,
        "cut_after_s_median": round(statistics.median(cut_after), 1) if cut_after else None,
        "cut_after_s_max": round(max(cut_after), 1) if cut_after else None,
        "slow_answers": answers,
        "visitor_requests": len(state.visits),
        "visitor_ok_share": round(ok / len(state.visits), 4) if state.visits else 0.0,
        "visitor_p50_ms": round(_percentile(latencies, 0.50) * 1000, 1),
        "visitor_p99_ms": round(_percentile(latencies, 0.99) * 1000, 1),
        "visitor_statuses": _count(status for _elapsed, status in state.visits),
    }
    report["load_generator_cpu_s"] = round(own, 2)
    if pid:
        report["peak_rss_mib"] = round(state.peak_rss / 2**20, 1)
        report["server_cpu_s"] = round(cpu_after - cpu_before, 2)
        # Cores kept busy by everything else on the machine (other users' work): on a shared
        # machine, the latencies above are only as good as this is small.
        wall = time.monotonic() - started
        foreign = busy - own - (cpu_after - cpu_before)
        report["foreign_cores"] = round(max(0.0, foreign) / wall, 2)
    return report


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[str(value)] = counts.get(str(value), 0) + 1
    return counts


async def _run(url, phases, phase_seconds, paths, counts, pid, pause, ramps) -> dict:
    target = Target.parse(url)
    results = {}
    for n, kind in enumerate(phases):
        if n:
            await asyncio.sleep(pause)  # the server lets go of the last phase's clients
        results[kind] = await run_phase(
            kind, target, paths, phase_seconds, counts[kind], pid, ramps[kind]
        )
    return results


def run(
    url: str,
    phases=PHASES,
    phase_seconds: float = 15.0,
    visitor_path: str = VISITOR_PATH,
    reader_path: str = READER_PATH,
    login_path: str = LOGIN_PATH,
    counts: dict | None = None,
    pid: int | None = None,
    pause: float = 2.0,
    ramps: dict | None = None,
) -> dict:
    """Run the phases one after the other against `url`; one report per phase, by name."""
    unknown = set(phases) - set(PHASES)
    if unknown:
        raise ValueError(f"unknown phases: {sorted(unknown)}")
    raise_nofile_limit()
    paths = {"visitor": visitor_path, "reader": reader_path, "login": login_path}
    counts = {**COUNTS, **(counts or {})}
    ramps = {**RAMP_SECONDS, **(ramps or {})}
    return asyncio.run(_run(url, list(phases), phase_seconds, paths, counts, pid, pause, ramps))


def seed(followers: int = CELEBRITY_FOLLOWERS) -> str:
    """Insert `celeb<followers>` with that many followers (bulk SQL), unless it exists."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "overworld.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from users.models import User

    call_command("migrate", verbosity=0, interactive=False)
    username = f"celeb{followers}"
    if User.objects.filter(username=username).exists():
        return username
    import prepare  # bench/prepare.py: fan1..fanN and follower rows by one INSERT ... SELECT

    with transaction.atomic():
        first = User.objects.filter(username="fan1").values_list("pk", flat=True).first()
        existing = User.objects.filter(username__startswith="fan").count()
        if first is None or existing < followers:
            first = prepare.seed_fans(followers) if first is None else first
        celeb = User.objects.create(
            username=username, email=f"{username}@example.com", password="!", bio="Famous"
        )
        prepare.add_followers(celeb, first, followers)
    return username


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="run", choices=["run", "seed"])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--phases", default=",".join(PHASES))
    parser.add_argument("--phase-seconds", type=float, default=15.0)
    parser.add_argument("--visitor-path", default=VISITOR_PATH)
    parser.add_argument("--reader-path", default=READER_PATH)
    parser.add_argument("--login-path", default=LOGIN_PATH)
    parser.add_argument("--pid", type=int, default=None, help="server root pid: RSS and CPU")
    parser.add_argument("--scale", type=float, default=1.0, help="slow-client counts x this")
    parser.add_argument("--readers-ramp", type=float, default=RAMP_SECONDS["readers"])
    parser.add_argument("--followers", type=int, default=CELEBRITY_FOLLOWERS)
    args = parser.parse_args()
    if args.command == "seed":
        print(seed(args.followers))
        return
    counts = {kind: max(1, int(n * args.scale)) for kind, n in COUNTS.items()}
    phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    report = run(
        args.url, phases, args.phase_seconds, args.visitor_path, args.reader_path,
        args.login_path, counts, args.pid, ramps={"readers": args.readers_ramp},
    )  # fmt: skip
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
