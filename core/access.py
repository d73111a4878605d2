"""Every request's id, its access line and its HTTP metrics: the outermost middleware.

Written by the application rather than by the server, so that the access line and the metrics
are the same under any server (gunicorn's own access log is off by default,
gunicorn.conf.py). Outermost, so that it sees the final answer, after core.unavailable's retry,
and so that the 503 dependency line, written inside it, carries the request id.

The access line, at INFO on the `core.access` logger (OVERWORLD_ACCESS_LOG=0 turns it off):

    127.0.0.1 "GET /api/users/madeline HTTP/1.1" 200 16219 3.1ms route=api/users/<username>
    request_id=4bf92f3577b34da6a3ce929d0e0e4736

(one line), or its JSON object (OVERWORLD_LOG_FORMAT=json) with method, route, path, status,
bytes, duration_ms and client as fields. The duration is the time the application took to
produce the response, from this middleware's start to its end; sending the body is the
server's. The client is the address the throttle sees (OVERWORLD_NUM_PROXIES).
"""

import logging
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from core import metrics
from core.logs import bind_request_id
from core.request_id import HEADER, request_id_for

logger = logging.getLogger("core.access")
_client = BaseThrottle()


def body_bytes(response) -> int | None:
    length = response.get("Content-Length")
    if length is not None and length.isdigit():
        return int(length)
    if response.streaming:
        return None  # sent after this middleware returns: unknown here
    return len(response.content)


class AccessMiddleware:
    """Give the request an id, time it, count it (metrics on) and write its access line."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request_id = request_id_for(request)
        bind_request_id(request_id)
        # Metrics are counted only while they can be read (OVERWORLD_METRICS_TOKEN set); the
        # scrapes themselves are left out (core.metrics.is_scrape).
        counted = bool(settings.OVERWORLD_METRICS_TOKEN) and not metrics.is_scrape(request)
        if counted:
            metrics.HTTP_IN_FLIGHT.inc()
        try:
            response = self.get_response(request)
        finally:
            if counted:
                metrics.HTTP_IN_FLIGHT.dec()
        seconds = time.perf_counter() - started
        response[HEADER] = request_id
        log = settings.OVERWORLD_ACCESS_LOG and logger.isEnabledFor(logging.INFO)
        if counted or log:
            route = metrics.route_label(request, response)
            if counted:
                metrics.observe_request(route, request.method, response.status_code, seconds)
            if log:
                self.log(request, response, route, seconds)
        return response

    @staticmethod
    def log(request, response, route: str, seconds: float) -> None:
        method, path = request.method, request.get_full_path()
        protocol = request.META.get("SERVER_PROTOCOL", "HTTP/1.1")
        client = _client.get_ident(request) or "-"
        size = body_bytes(response)
        milliseconds = round(seconds * 1000, 1)
        logger.info(
            '%s "%s %s %s" %s %s %sms route=%s',
            client,
            method,
            path,
            protocol,
            response.status_code,
            "-" if size is None else size,
            milliseconds,
            route,
            extra={
                "access": {
                    "method": method,
                    "route": route,
                    "path": path,
                    "status": response.status_code,
                    "bytes": size,
                    "duration_ms": milliseconds,
                    "client": client,
                }
            },
        )
