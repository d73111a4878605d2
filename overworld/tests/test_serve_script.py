"""What a client of `./scripts/serve.sh` can and cannot claim through its nginx.

serve.sh puts nginx in front of gunicorn, so the app always sits behind one proxy of its own;
with nothing configured (OVERWORLD_NUM_PROXIES unset: no proxy in front of serve.sh) a client
must be treated exactly as by a server that faces clients directly: its own `X-Request-ID` is
replaced, and a forged `X-Forwarded-For` does not give it a throttle count of its own.
"""

import re

import pytest

from bench import slow_clients
from users.tests.live import CONNECTIONS_PER_CLIENT, ServeScript, call

pytestmark = pytest.mark.live

NGINX_REQUEST_ID = re.compile(r"[0-9a-f]{32}")


def started_serve_script(tmp_path_factory, name: str, **env: str):
    """serve.sh on a SQLite file of its own (auth throttle 3/min, 1 worker x 2 threads), with
    `env`; stopped when the module's tests are done."""
    tmp = tmp_path_factory.mktemp(name)
    server = ServeScript(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "OVERWORLD_THROTTLE_AUTH": "3/min",
            **env,
        },
        tmp,
        workers=1,
        threads=2,
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def serve_script(tmp_path_factory):
    yield from started_serve_script(tmp_path_factory, "serve-script")


def test_serve_script_replaces_a_request_id_sent_by_a_client(serve_script):
    reply = call(serve_script.base_url, "GET", "/healthz", headers={"X-Request-ID": "chosen-id"})

    assert reply.status == 200
    assert NGINX_REQUEST_ID.fullmatch(reply.headers["x-request-id"])


def test_serve_script_throttle_ignores_a_forged_x_forwarded_for(serve_script):
    login = {"username": "nobody", "password": "not-a-password-42"}
    statuses = [
        call(
            serve_script.base_url,
            "POST",
            "/api/users/login/",
            login,
            headers={"X-Forwarded-For": f"203.0.113.{attempt}"},
        ).status
        for attempt in range(4)
    ]

    assert statuses == [400, 400, 400, 429]


def test_serve_script_a_body_just_over_the_limit_gets_the_apps_413_a_browser_can_read(
    serve_script,
):
    reply = call(
        serve_script.base_url,
        "POST",
        "/api/users/login/",
        {"x": "a" * 1_100_000},
        headers={"Origin": "http://localhost:3000"},
    )

    assert (reply.status, reply.body) == (413, {"detail": "Request body is too large."})
    assert reply.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert NGINX_REQUEST_ID.fullmatch(reply.headers["x-request-id"])


def test_serve_script_nginx_refusals_are_json_with_a_request_id(serve_script):
    too_large = call(serve_script.base_url, "POST", "/api/users/login/", {"x": "a" * 2_200_000})
    trace = call(serve_script.base_url, "TRACE", "/api/users/user/")
    huge_header = call(serve_script.base_url, "GET", "/healthz", headers={"Cookie": "a" * 20_000})

    assert (too_large.status, too_large.body) == (413, {"detail": "Request body is too large."})
    assert (trace.status, trace.body) == (405, {"detail": 'Method "TRACE" not allowed.'})
    assert (huge_header.status, huge_header.body) == (
        431,
        {"detail": "Request header fields too large."},
    )
    for reply in (too_large, trace, huge_header):
        assert NGINX_REQUEST_ID.fullmatch(reply.headers["x-request-id"])


@pytest.fixture(scope="module")
def serve_script_behind_a_proxy(tmp_path_factory):
    yield from started_serve_script(
        tmp_path_factory, "serve-script-proxied", OVERWORLD_NUM_PROXIES="1"
    )


def test_serve_script_behind_a_trusted_proxy_keeps_its_request_id(serve_script_behind_a_proxy):
    reply = call(
        serve_script_behind_a_proxy.base_url,
        "GET",
        "/healthz",
        headers={"X-Request-ID": "edge-7f3a"},
    )

    assert reply.status == 200
    assert reply.headers["x-request-id"] == "edge-7f3a"


def test_serve_script_behind_a_trusted_proxy_throttles_each_client_it_names(
    serve_script_behind_a_proxy,
):
    login = {"username": "nobody", "password": "not-a-password-42"}

    def attempt(client: str) -> int:
        return call(
            serve_script_behind_a_proxy.base_url,
            "POST",
            "/api/users/login/",
            login,
            headers={"X-Forwarded-For": client},
        ).status

    first = [attempt("203.0.113.7") for _ in range(4)]
    other = attempt("198.51.100.9")

    assert (first, other) == ([400, 400, 400, 429], 400)


def test_serve_script_behind_a_trusted_proxy_leaves_the_per_client_cap_to_it(
    serve_script_behind_a_proxy,
):
    # Every request arrives from the proxy's address: counting them would cap all of its
    # clients together. The proxy facing the clients caps them (deploy/nginx does).
    report = slow_clients.per_client_cap(
        serve_script_behind_a_proxy.base_url,
        CONNECTIONS_PER_CLIENT,
        source="127.0.0.6",
        other="127.0.0.7",
        visitor_path="/healthz",
        seconds=3,
    )

    assert report["held"] == CONNECTIONS_PER_CLIENT
    assert report["one_more"][0] == 200
