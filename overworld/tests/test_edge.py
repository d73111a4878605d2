"""The edge (deploy/nginx/nginx.conf.template) for real: Debian's nginx in front of two app servers.

bench/edge.py renders the repository's template with this test's own prefix, pid file, temporary
paths, loopback ports and a throwaway self-signed certificate, and starts the app servers as the
image does (`start_app_server`, the one place that says how). The app servers run with
what the app needs behind the edge: OVERWORLD_NUM_PROXIES=1, DJANGO_SECURE_PROXY_SSL_HEADER=1 and
DJANGO_SECURE_SSL_REDIRECT=1, on a SQLite file of their own (the edge is under test here, not the
database, so the suite runs it once: CI's PostgreSQL passes leave out the `edge` marker).

Without nginx, wrk or openssl these tests skip on a developer's machine; in CI (`CI` set) they
fail (.ci/run installs them). OVERWORLD_EDGE_PHASE_SECONDS sets the length of each slow-client
phase (default 8).
"""

import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading

import pytest

from bench import edge, rolling_restart, slow_clients
from users.tests.live import CONNECTIONS_PER_CLIENT, assert_one_client_is_capped

pytestmark = pytest.mark.edge

MIB = 1024 * 1024
UNAVAILABLE = b'{"detail": "Service temporarily unavailable, try again later."}'
TOO_LARGE = b'{"detail": "Request body is too large."}'
THROTTLED = re.compile(r"Request was throttled\. Expected available in \d+ seconds\.")


def require_tools() -> None:
    missing = [name for name in ("wrk", "openssl") if not shutil.which(name)]
    if not edge.nginx_binary():
        missing.insert(0, "nginx")
    if not missing:
        return
    reason = f"{', '.join(missing)} not installed"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the edge tests (.ci/run installs them)")
    pytest.skip(reason)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=edge.ROOT, env=env, check=True, capture_output=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Two app servers on one seeded SQLite file, nginx in front; stopped at the end."""
    require_tools()
    tmp = tmp_path_factory.mktemp("edge")
    env = edge.app_env(
        f"sqlite:///{tmp / 'edge.sqlite3'}",
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        DJANGO_SETTINGS_MODULE="users.tests.server_settings",  # production, with a fast hasher
        OVERWORLD_THROTTLE_AUTH="3/min",
    )
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "seed_demo")  # madeline: the slow-client phases' visitor reads her profile
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    subprocess.run(
        [sys.executable, "bench/slow_clients.py", "seed"],
        cwd=edge.ROOT, env=env, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    servers = [edge.AppServer(env, tmp), edge.AppServer(env, tmp)]
    (tmp / "nginx").mkdir()
    certs = edge.make_certificate(tmp / "certs")
    proxy = edge.Edge(tmp / "nginx", certs, (servers[0].port, servers[1].port))
    try:
        for server in servers:
            server.start()
        proxy.start()
        yield proxy
    finally:
        proxy.stop()
        for server in servers:
            server.stop()


def request(
    proxy: edge.Edge,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict | None = None,
    source: str = "127.0.0.1",
) -> tuple[int, dict[str, str], bytes]:
    """One https request to the edge from the loopback address `source`."""
    connection = http.client.HTTPSConnection(
        "127.0.0.1",
        proxy.https_port,
        context=edge.tls_context(proxy.certs),
        timeout=30,
        source_address=(source, 0),
    )
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def login(proxy: edge.Edge, source: str, headers: dict | None = None) -> tuple[int, dict]:
    body = json.dumps({"username": "nobody-here", "password": "wrong-password-1"}).encode()
    status, _headers, raw = request(
        proxy, "POST", "/api/users/login/", body,
        {"Content-Type": "application/json", **(headers or {})}, source,
    )  # fmt: skip
    return status, json.loads(raw)


def test_edge_terminates_tls_and_the_app_sees_https(site):
    status, headers, body = request(site, "GET", "/api/users/user/")

    # DJANGO_SECURE_SSL_REDIRECT=1: an app that took this for http would answer 301. HSTS is
    # only ever sent on a request the app sees as secure (X-Forwarded-Proto: https).
    assert status == 401
    assert json.loads(body) == {"detail": "Authentication credentials were not provided."}
    assert headers["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"


def test_edge_redirects_plain_http_to_https(site):
    connection = http.client.HTTPConnection("127.0.0.1", site.http_port, timeout=10)
    try:
        connection.request("GET", "/api/users/madeline?x=1")
        response = connection.getresponse()
        response.read()
    finally:
        connection.close()

    assert response.status == 301
    assert response.getheader("Location") == "https://127.0.0.1/api/users/madeline?x=1"


def test_edge_throttle_counts_each_client_address_and_ignores_a_forged_one(site):
    # All of 127.0.0.0/8 is this machine: two source addresses are two clients to nginx.
    first = [login(site, "127.0.0.2") for _ in range(3)]
    over = login(site, "127.0.0.2")
    forged = login(site, "127.0.0.2", {"X-Forwarded-For": "203.0.113.9"})
    other = login(site, "127.0.0.3")

    assert [status for status, _body in first] == [400, 400, 400]
    assert over[0] == 429 and THROTTLED.fullmatch(over[1]["detail"])
    assert forged[0] == 429 and THROTTLED.fullmatch(forged[1]["detail"])
    assert other == (400, first[0][1])


def test_edge_refuses_a_body_over_the_apps_limit_with_its_json_413(site):
    headers = {"Content-Type": "application/json", "Origin": "http://localhost:3000"}

    at_limit, _headers, _body = request(site, "POST", "/api/users/login/", b" " * MIB, headers)
    status, app_headers, body = request(
        site, "POST", "/api/users/login/", b" " * (MIB + 1), headers
    )
    edge_status, edge_headers, edge_body = request(
        site, "POST", "/api/users/login/", b" " * (2 * MIB + 1), headers
    )

    # Exactly the limit reaches the view (DATA_UPLOAD_MAX_MEMORY_SIZE): a 400, not a 413.
    assert at_limit == 400
    # One byte more: the app's 413, with the CORS header a browser needs to read it.
    assert (status, json.loads(body)) == (413, json.loads(TOO_LARGE))
    assert app_headers["access-control-allow-origin"] == "http://localhost:3000"
    # Past twice the limit nginx refuses before reading: the same JSON, from the edge.
    assert (edge_status, edge_body) == (413, TOO_LARGE)
    assert edge_headers["content-type"] == "application/json"


def test_edge_serves_static_files(site):
    status, headers, body = request(site, "GET", "/static/admin/css/base.css")

    assert status == 200
    assert headers["content-type"].startswith("text/css")
    assert len(body) > 1000


def test_edge_answers_json_503_with_retry_after_when_no_app_server_answers(site, tmp_path):
    # The same configuration in front of two ports where nothing listens.
    nobody = (edge.free_port(), edge.free_port())
    proxy = edge.Edge(tmp_path, site.certs, nobody).start()
    try:
        replies = [
            request(proxy, "GET", "/api/users/madeline"),
            request(
                proxy, "POST", "/api/users/login/", b"{}", {"Content-Type": "application/json"}
            ),
        ]
    finally:
        proxy.stop()

    for status, headers, body in replies:
        assert (status, body) == (503, UNAVAILABLE)
        assert headers["content-type"] == "application/json"
        assert headers["retry-after"] == "5"
        assert headers["cache-control"] == "no-store"


class EchoHeaders(http.server.BaseHTTPRequestHandler):
    """An app server stand-in that answers with the request headers it received, as JSON."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = json.dumps({name.lower(): value for name, value in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_edge_sends_the_app_the_client_address_scheme_and_request_id(site, tmp_path):
    echo = http.server.ThreadingHTTPServer(("127.0.0.1", edge.free_port()), EchoHeaders)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    port = echo.server_address[1]
    proxy = edge.Edge(tmp_path, site.certs, (port, port)).start()
    try:
        forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}
        status, _headers, body = request(proxy, "GET", "/x", headers=forged, source="127.0.0.2")
    finally:
        proxy.stop()
        echo.shutdown()
        echo.server_close()
    seen = json.loads(body)

    assert status == 200
    assert seen["x-forwarded-for"] == "127.0.0.2"  # replaced, not appended to
    assert seen["x-forwarded-proto"] == "https"
    assert seen["host"] == "127.0.0.1"
    assert re.fullmatch(r"[0-9a-f]{32}", seen["x-request-id"])
    assert f"rid={seen['x-request-id']}" in proxy.access_log()


def test_edge_keeps_serving_a_visitor_through_the_four_slow_client_phases(site):
    seconds = float(os.environ.get("OVERWORLD_EDGE_PHASE_SECONDS", "8"))
    # Warm: every worker of both app servers opens its database connection first.
    for _ in range(16):
        assert request(site, "GET", slow_clients.VISITOR_PATH)[0] == 200

    report = slow_clients.run(
        site.https_url,
        phase_seconds=seconds,
        pid=site.process.pid,
    )

    print(json.dumps(report, indent=2))
    for phase, result in report.items():
        assert result["visitor_ok_share"] >= 0.99, (phase, result)
        assert result["visitor_p99_ms"] <= 250, (phase, result)


def test_edge_one_client_cannot_hold_every_connection(site):
    report = slow_clients.per_client_cap(
        site.https_url, CONNECTIONS_PER_CLIENT, source="127.0.0.4", other="127.0.0.5"
    )
    assert_one_client_is_capped(report)


def test_edge_rolling_restart_of_both_app_servers_loses_no_request(tmp_path):
    require_tools()

    report = rolling_restart.measure(tmp_path, connections=8)

    print(json.dumps(report, indent=2))
    assert report["requests"] > 0
    assert len({step["port"] for step in report["steps"]}) == 2  # both, one after the other
    assert report["failures"] == 0, report
