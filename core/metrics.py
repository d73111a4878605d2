"""Prometheus metrics: the families and the one-line hooks other modules call (GET /metrics:
core.scrape).

prometheus-client, in its multiprocess mode whenever PROMETHEUS_MULTIPROC_DIR is set (every
server start sets it: core.metrics_files), so a scrape that lands in any worker answers the sum
over all of them; without it (tests, `manage.py runserver`) one process counts in memory.

Every label has a bounded set of values: routes are URL templates (`api/users/<username>`,
never a username), methods come from an allow-list, statuses are HTTP codes, and the others
are fixed words. docs/operations.md, "Metrics", says what each family means and what to do when
it moves; deploy/prometheus/alerts.yml alerts on them.
"""

import functools
import re

import redis.exceptions
from django.conf import settings
from django.urls import Resolver404, resolve
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)

from core import metrics_files

# The families are registered here rather than in prometheus-client's global registry, whose
# process and platform collectors would describe only the worker that happens to answer.
REGISTRY = CollectorRegistry()
metrics_files.ensure_directory()
# No `_created` series beside each counter: multiprocess mode has none, one process alike.
disable_created_metrics()

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
STATIC = "static"

# Seconds. Dense between 10 and 500 ms, where the profile's p99 target (250 ms,
# docs/performance.md) and the routes' usual latencies lie; up to the 30 s worker timeout.
LATENCY_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.35, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0,
)  # fmt: skip

HTTP_REQUESTS = Counter(
    "overworld_http_requests",
    "HTTP requests answered, by route template, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "overworld_http_request_duration_seconds",
    "Time from the request reaching the application to its response, by route template.",
    ["route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
HTTP_IN_FLIGHT = Gauge(
    "overworld_http_requests_in_flight",
    "Requests being served right now, over every live worker.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DEPENDENCY_FAILURES = Counter(
    "overworld_dependency_failures",
    "Requests answered 503 because a dependency failed, by dependency (database, cache).",
    ["dependency"],
    registry=REGISTRY,
)
PROFILE_READS = Counter(
    "overworld_profile_reads",
    "Profile reads with read replicas configured, by where they were served (replica or "
    "primary) and why the primary served them.",
    ["source", "reason"],
    registry=REGISTRY,
)
THROTTLED = Counter(
    "overworld_throttled",
    "Requests refused by a throttle (429), by throttle scope.",
    ["scope"],
    registry=REGISTRY,
)
LOGIN_FAILURES = Counter(
    "overworld_login_failures",
    "Failed logins (wrong password, unknown or inactive user), by where: api or admin.",
    ["where"],
    registry=REGISTRY,
)


# --- Labels -------------------------------------------------------------------------------------

_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")
_CONVERTER = re.compile(r"<\w+:(\w+)>")


@functools.lru_cache(maxsize=512)
def route_template(route: str) -> str:
    """A URL pattern as a label: `api/users/^(?P<username>[\\w.@+-]{1,150})/?$` gives
    `api/users/<username>`, `admin/users/user/<path:object_id>/change/` gives
    `admin/users/user/<object_id>/change/`."""
    text = _CONVERTER.sub(r"<\1>", _NAMED_GROUP.sub(r"<\1>", route))
    for noise in ("^", "$", r"\Z", "/?"):
        text = text.replace(noise, "")
    return text


def route_label(request, response) -> str:
    """The route template `request` matched, `static`, or `unmatched`."""
    match = request.resolver_match
    if match is None:
        # Answered before URL resolution: static files (whitenoise), a CORS preflight, a 413,
        # a redirect; or no route matched (404), which needs no second look.
        if request.path_info.startswith(f"/{settings.STATIC_URL.strip('/')}/"):
            return STATIC
        if response.status_code == 404:
            return UNMATCHED
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return UNMATCHED
    return route_template(match.route)


def method_label(method: str) -> str:
    return method if method in METHODS else "other"


def is_scrape(request) -> bool:
    """Requests to /metrics are left out of the HTTP families: a scrape every few seconds is
    noise there (Prometheus records its own scrapes: `up`, `scrape_duration_seconds`)."""
    return request.path_info in ("/metrics", "/metrics/")


# --- Hooks: one line where each event is decided -----------------------------------------------


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """One answered request (core.access)."""
    HTTP_REQUESTS.labels(route, method_label(method), str(status)).inc()
    HTTP_DURATION.labels(route).observe(seconds)


def dependency_failed(failure: BaseException) -> None:
    """core.unavailable answered 503 for `failure` (after its retry, if any)."""
    cache = isinstance(failure, redis.exceptions.RedisError)
    DEPENDENCY_FAILURES.labels("cache" if cache else "database").inc()


def profile_read_on_replica(result):
    """A profile read a replica answered; returns `result` (core.replicas)."""
    PROFILE_READS.labels("replica", "").inc()
    return result


def profile_read_on_primary(reason: str) -> None:
    """A profile read the primary answered although replicas are configured, and why:
    `pinned` (the reader's own write is not on a replica yet), `lagging`, `down`, `failed` (the
    replica failed mid-read), `pin_unavailable` (the cache holding pins failed), `not_found`
    (a replica's 404, confirmed on the primary)."""
    PROFILE_READS.labels("primary", reason).inc()


def throttled(scope: str) -> None:
    """A throttle refused a request (core.counters.WindowCounter)."""
    THROTTLED.labels(scope).inc()


def login_failed(where: str) -> None:
    """A failed login, `api`, `admin` or `other` (users.signals)."""
    LOGIN_FAILURES.labels(where).inc()
