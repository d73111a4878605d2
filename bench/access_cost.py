"""The CPU that core.access adds to one request, in-process, without the noise of a server.

Usage: .venv/bin/python bench/access_cost.py [--requests 20000]

Calls core.access.AccessMiddleware around a view stand-in that returns a prepared 16 KB
response (the typical profile's size) for a request that matched the profile route, in
prometheus-client's multiprocess mode (a temporary PROMETHEUS_MULTIPROC_DIR) with the access
line written to a file, and reports the process CPU time per request of: the stand-in alone,
the middleware with metrics off (request id + access line), metrics on, metrics on and JSON
lines. The difference is the middleware's own cost; bench/overhead.py measures the same thing
through gunicorn and PostgreSQL, where it is a few per cent of noise.
"""

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="overworld-access-cost-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "access-cost-bench")
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import resolve  # noqa: E402

from core.access import AccessMiddleware  # noqa: E402
from core.logs import JsonFormatter, RequestContextFilter, TextFormatter  # noqa: E402

BODY = b"x" * 16_219


def view(request):
    response = HttpResponse(BODY, content_type="application/json")
    response["Content-Length"] = str(len(BODY))
    return response


def per_request(handler, requests: int) -> float:
    """Microseconds of process CPU per call, best of three runs."""
    factory = RequestFactory()
    best = float("inf")
    for _ in range(3):
        batch = []
        for _ in range(requests):
            request = factory.get("/api/users/typical")
            request.resolver_match = resolve("/api/users/typical")
            batch.append(request)
        started = time.process_time()
        for request in batch:
            handler(request)
        best = min(best, time.process_time() - started)
    return 1e6 * best / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    log_file = tempfile.NamedTemporaryFile("w", suffix=".log", delete=False)  # noqa: SIM115
    handler = logging.StreamHandler(log_file)
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    root.handlers = [handler]

    rows = []
    baseline = per_request(view, args.requests)
    rows.append(("view stand-in alone", baseline))
    middleware = AccessMiddleware(view)
    text = TextFormatter(settings.LOGGING["formatters"]["text"]["format"])
    for label, token, formatter in (
        ("+ request id and access line (metrics off)", "", text),
        ("+ metrics on (text access line)", "token", text),
        ("+ metrics on, JSON access line", "token", JsonFormatter()),
    ):
        settings.OVERWORLD_METRICS_TOKEN = token
        handler.setFormatter(formatter)
        rows.append((label, per_request(middleware, args.requests)))
    settings.OVERWORLD_METRICS_TOKEN = "token"
    settings.OVERWORLD_ACCESS_LOG = False
    rows.append(("+ metrics on, no access line", per_request(middleware, args.requests)))

    print(f"{args.requests} requests per run, best of 3; process CPU per request")
    print("| what runs | µs per request | added by core.access |")
    print("|---|---|---|")
    for label, micros in rows:
        added = "-" if label.startswith("view") else f"{micros - baseline:.1f} µs"
        print(f"| {label} | {micros:.1f} | {added} |")


if __name__ == "__main__":
    main()
