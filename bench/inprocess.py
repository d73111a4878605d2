"""In-process cost per endpoint: wall time, this process's CPU and its PostgreSQL backend's CPU.

Usage (against a database seeded by bench/prepare.py, whose --out JSON gives the token):
    DATABASE_URL=postgres://... DJANGO_SECRET_KEY=x DJANGO_DEBUG=0 \
        python bench/inprocess.py prepare.json [--only floor,user] [--requests 2000]
No HTTP: Django's test client calls the application directly, so the figures are the API's own
work (docs/performance.md, "Issue 11").
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def backend_cpu() -> float:
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(prepare_json: str, only: set[str] | None = None, requests: int | None = None) -> None:
    info = json.loads(Path(prepare_json).read_text())
    token = {"HTTP_AUTHORIZATION": f"Token {info['token']}"}
    cases = [
        ("floor", "/bench/floor/", 300, {}),
        ("user", "/api/users/user/", 300, token),
        ("typical", "/api/users/typical", 300, {}),
        ("typical_auth", "/api/users/typical", 300, token),
    ]
    cases += [
        (name, f"/api/users/{username}", 20 if int(count) < 1_000_000 else 5, {})
        for count, username in info["celebrities"].items()
        for name in [f"celeb{count}"]
    ]
    client = Client(HTTP_HOST="127.0.0.1")
    for name, path, n, headers in cases:
        if only and name not in only:
            continue
        n = requests or n
        client.get(path, **headers)
        walls = []
        cpu, pg = own_cpu(), backend_cpu()
        for _ in range(n):
            started = time.perf_counter()
            response = client.get(path, **headers)
            walls.append(time.perf_counter() - started)
        cpu, pg = own_cpu() - cpu, backend_cpu() - pg
        print(
            f"{name:14} wall p50 {1000 * statistics.median(walls):8.2f} ms"
            f"  python CPU {1000 * cpu / n:8.2f} ms  PostgreSQL CPU {1000 * pg / n:7.2f} ms"
            f"  bytes {len(response.content)}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("prepare_json")
    parser.add_argument("--only", default="", help="comma list of cases, e.g. floor,user")
    parser.add_argument("--requests", type=int, default=None, help="per case (default: its own)")
    args = parser.parse_args()
    main(args.prepare_json, set(filter(None, args.only.split(","))), args.requests)
