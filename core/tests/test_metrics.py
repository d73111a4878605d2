"""GET /metrics and the families it shows, in one process (the multiprocess sum:
core/tests/test_multiprocess.py; a real Prometheus: overworld/tests/test_prometheus.py)."""

import json
import re
import time

import pytest
import redis
from django.db import OperationalError
from django.test import Client
from rest_framework.exceptions import NotFound
from rest_framework.test import APIClient

from core import replicas
from core.metrics import REGISTRY, route_template
from users import views
from users.tests.factories import DEFAULT_PASSWORD, make_user

TOKEN = "metrics-test-token-0123456789abcdef"
BEARER = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.fixture
def metrics_on(settings):
    settings.OVERWORLD_METRICS_TOKEN = TOKEN


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def requests_total(route: str, method: str = "GET", status: str = "200") -> float:
    return value("overworld_http_requests_total", route=route, method=method, status=status)


def fail_with(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


# --- The endpoint -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer wrong-token"},
        {"HTTP_AUTHORIZATION": f"Token {TOKEN}"},
        {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}x"},
        {"HTTP_AUTHORIZATION": "Bearer"},
    ],
    ids=["none", "wrong", "other-scheme", "longer", "empty"],
)
def test_metrics_answers_anyone_without_the_token_like_an_unknown_route(metrics_on, headers):
    client = APIClient()
    unknown = client.get("/no-such-route", **headers)

    for method in ("get", "post", "delete"):
        response = getattr(client, method)("/metrics", **headers)

        assert response.status_code == 404
        assert response.content == unknown.content == b'{"detail": "Not found."}'
        assert response["Content-Type"] == unknown["Content-Type"]
        assert "Cache-Control" not in response
    assert client.head("/metrics", **headers).status_code == 404


def test_metrics_is_off_without_a_token(settings):
    settings.OVERWORLD_METRICS_TOKEN = ""

    response = APIClient().get("/metrics", HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_metrics_with_the_token_answers_the_text_format_never_cached(metrics_on):
    response = APIClient().get("/metrics", **BEARER)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response["Cache-Control"] == "no-store"
    text = response.content.decode()
    for family in (
        "overworld_http_requests_total",
        "overworld_http_request_duration_seconds",
        "overworld_http_requests_in_flight",
        "overworld_dependency_failures_total",
        "overworld_profile_reads_total",
        "overworld_throttled_total",
        "overworld_login_failures_total",
    ):
        assert f"# TYPE {family} " in text


def test_metrics_scheme_is_case_insensitive_and_trailing_slash_optional(metrics_on):
    response = APIClient().get("/metrics/", HTTP_AUTHORIZATION=f"bearer {TOKEN}")

    assert response.status_code == 200


def test_metrics_other_methods_with_the_token_answer_405(metrics_on):
    response = APIClient().post("/metrics", **BEARER)

    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
    assert response["Allow"] == "GET, HEAD"


def test_metrics_touch_no_database(metrics_on, db, django_assert_num_queries):
    client = Client()
    with django_assert_num_queries(0):
        for _ in range(3):
            assert client.get("/metrics", **BEARER).status_code == 200


def test_metrics_are_never_throttled(metrics_on, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "1/day"},
    }
    client = APIClient()

    assert {client.get("/metrics", **BEARER).status_code for _ in range(30)} == {200}


# --- HTTP families ------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_template_method_and_status(metrics_on, user):
    client = APIClient()
    before = {
        "profile": requests_total("api/users/<username>"),
        "missing": requests_total("api/users/<username>", status="404"),
        "update": requests_total("api/users/profile/<username>", method="POST", status="401"),
        "unmatched": requests_total("unmatched", status="404"),
        "other": requests_total("healthz", method="other", status="405"),
    }

    client.get("/api/users/madeline")
    client.get("/api/users/MADELINE/")
    client.get("/api/users/nobody-here")
    client.post("/api/users/profile/madeline", {"bio": "x"}, format="json")
    client.get("/no/such/route")
    client.generic("BREW", "/healthz")

    assert requests_total("api/users/<username>") - before["profile"] == 2
    assert requests_total("api/users/<username>", status="404") - before["missing"] == 1
    assert (
        requests_total("api/users/profile/<username>", method="POST", status="401")
        - before["update"]
        == 1
    )
    assert requests_total("unmatched", status="404") - before["unmatched"] == 1
    assert requests_total("healthz", method="other", status="405") - before["other"] == 1
    # Never a username or a raw path as a label value.
    text = client.get("/metrics", **BEARER).content.decode()
    assert "madeline" not in text.lower()
    assert "nobody-here" not in text
    assert "no/such/route" not in text


def test_metrics_time_requests_by_route(metrics_on, db):
    count = "overworld_http_request_duration_seconds_count"
    bucket = "overworld_http_request_duration_seconds_bucket"
    before = value(count, route="healthz")
    before_inf = value(bucket, route="healthz", le="+Inf")

    APIClient().get("/healthz")

    assert value(count, route="healthz") - before == 1
    assert value(bucket, route="healthz", le="+Inf") - before_inf == 1
    assert value("overworld_http_request_duration_seconds_sum", route="healthz") > 0


def test_metrics_in_flight_counts_the_request_being_served(metrics_on, user, monkeypatch):
    seen = []
    read = views.profile_document

    def spy(**kwargs):
        seen.append(value("overworld_http_requests_in_flight"))
        return read(**kwargs)

    monkeypatch.setattr(views, "profile_document", spy)
    idle = value("overworld_http_requests_in_flight")

    APIClient().get("/api/users/madeline")

    assert seen == [idle + 1]
    assert value("overworld_http_requests_in_flight") == idle


def test_metrics_leave_the_scrapes_out(metrics_on):
    client = APIClient()
    client.get("/metrics", **BEARER)
    before = client.get("/metrics", **BEARER).content.decode()
    after = client.get("/metrics", **BEARER).content.decode()

    assert 'route="metrics"' not in after
    assert before == after


def test_metrics_count_nothing_while_off(settings, db):
    settings.OVERWORLD_METRICS_TOKEN = ""
    before = requests_total("healthz")

    APIClient().get("/healthz")

    assert requests_total("healthz") == before


def test_metrics_label_static_files_and_admin_routes(metrics_on, db):
    before_static = requests_total("static", status="404")
    before_admin = requests_total("admin/login/")

    Client().get("/static/no-such-file.css")
    Client().get("/admin/login/")

    assert requests_total("static", status="404") - before_static == 1
    assert requests_total("admin/login/") - before_admin == 1


@pytest.mark.parametrize(
    ("route", "label"),
    [
        ("api/users/^(?P<username>[\\w.@+-]{1,150})/?$", "api/users/<username>"),
        ("api/users/^profile/(?P<username>[\\w.@+-]{1,150})/?$", "api/users/profile/<username>"),
        ("api/users/^user/?$", "api/users/user"),
        ("^healthz/?$", "healthz"),
        ("admin/users/user/<path:object_id>/change/", "admin/users/user/<object_id>/change/"),
        ("admin/^(?P<app_label>auth|users|games)/$", "admin/<app_label>/"),
        ("api/schema/", "api/schema/"),
    ],
)
def test_metrics_route_template_is_the_pattern_without_regex(route, label):
    assert route_template(route) == label


# --- Dependency failures, replicas, throttles, logins -------------------------------------------


@pytest.mark.parametrize(
    ("failure", "dependency"),
    [
        (OperationalError("server closed the connection unexpectedly"), "database"),
        (redis.exceptions.TimeoutError("Timeout reading from socket"), "cache"),
    ],
)
def test_metrics_count_dependency_failures_answered_503(
    metrics_on, user, monkeypatch, settings, failure, dependency
):
    settings.DATABASE_REPLICAS = []
    monkeypatch.setattr(views, "profile_document", fail_with(failure))
    before = value("overworld_dependency_failures_total", dependency=dependency)
    before_503 = requests_total("api/users/<username>", status="503")

    response = APIClient(raise_request_exception=False).get("/api/users/madeline")

    assert response.status_code == 503
    assert value("overworld_dependency_failures_total", dependency=dependency) - before == 1
    assert requests_total("api/users/<username>", status="503") - before_503 == 1


@pytest.fixture
def fake_replica(settings):
    """One replica, `replica_fake`, whose state the test sets; reads never reach it."""
    alias = "replica_fake"
    settings.DATABASE_REPLICAS = [alias]
    settings.OVERWORLD_REPLICA_REMOTE_APPLY = False
    state = replicas._state(alias)
    state.checked = time.monotonic() + 3600  # fresh: no probe
    state.down_until, state.lag, state.replay_lsn = -float("inf"), 0.0, 100
    yield state
    replicas._states.pop(alias)
    replicas._probing.pop(alias)


def reads(source: str, reason: str = "") -> float:
    return value("overworld_profile_reads_total", source=source, reason=reason)


def read_in_scope(result="document"):
    """A read that answers `result` on the replica and "primary" on the primary."""
    return lambda: result if replicas._scope_alias.get() else "primary"


@pytest.mark.parametrize(
    ("setup", "pin", "reason"),
    [
        (lambda state: setattr(state, "down_until", time.monotonic() + 60), None, "down"),
        (lambda state: setattr(state, "lag", 3600.0), None, "lagging"),
        (lambda state: None, 200, "pinned"),
    ],
    ids=["down", "lagging", "pinned"],
)
def test_metrics_count_profile_reads_on_the_primary_with_the_reason(
    fake_replica, monkeypatch, setup, pin, reason
):
    setup(fake_replica)
    monkeypatch.setattr(replicas, "_pin_of", lambda user: pin)
    before = reads("primary", reason)

    assert replicas.read_from_replica(None, read_in_scope()) == "primary"
    assert reads("primary", reason) - before == 1


def test_metrics_count_profile_reads_on_a_replica(fake_replica, monkeypatch):
    monkeypatch.setattr(replicas, "_pin_of", lambda user: 50)
    before = reads("replica")

    assert replicas.read_from_replica(None, read_in_scope()) == "document"
    assert reads("replica") - before == 1


def test_metrics_count_profile_reads_whose_pin_is_unavailable(fake_replica, monkeypatch):
    monkeypatch.setattr(replicas, "_pin_of", fail_with(redis.exceptions.ConnectionError("down")))
    before = reads("primary", "pin_unavailable")

    assert replicas.read_from_replica(None, read_in_scope()) == "primary"
    assert reads("primary", "pin_unavailable") - before == 1


def test_metrics_count_a_replicas_404_confirmed_on_the_primary(fake_replica, monkeypatch):
    monkeypatch.setattr(replicas, "_pin_of", lambda user: None)

    def read():
        if replicas._scope_alias.get():
            raise NotFound()
        return "primary"

    before_primary, before_replica = reads("primary", "not_found"), reads("replica")

    assert replicas.read_from_replica(None, read, confirm_on_primary=(NotFound,)) == "primary"
    assert reads("primary", "not_found") - before_primary == 1
    assert reads("replica") == before_replica


@pytest.mark.django_db
def test_metrics_count_throttle_rejections_by_scope(metrics_on, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "2/day"},
    }
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = "1/day"
    make_user(username="madeline")
    before_auth = value("overworld_throttled_total", scope="auth")
    before_failures = value("overworld_throttled_total", scope="login-failures")
    body = {"username": "madeline", "password": "wrong-password"}

    first = APIClient(REMOTE_ADDR="10.0.0.1").post("/api/users/login/", body, format="json")
    locked = APIClient(REMOTE_ADDR="10.0.0.2").post("/api/users/login/", body, format="json")
    client = APIClient(REMOTE_ADDR="10.0.0.3")
    statuses = [client.post("/api/users/register/", {}, format="json").status_code for _ in "abc"]

    assert (first.status_code, locked.status_code, statuses) == (400, 429, [400, 400, 429])
    assert value("overworld_throttled_total", scope="login-failures") - before_failures == 1
    assert value("overworld_throttled_total", scope="auth") - before_auth == 1


@pytest.mark.django_db
def test_metrics_count_the_admin_login_throttle_by_its_scope(metrics_on, settings):
    settings.OVERWORLD_THROTTLE_ADMIN_LOGIN = "1/day"
    make_user(username="root", is_staff=True, is_superuser=True)
    before = value("overworld_throttled_total", scope="admin-login")
    client = Client(REMOTE_ADDR="10.0.0.9")

    statuses = [
        client.post("/admin/login/", {"username": "root", "password": "no"}).status_code
        for _ in range(2)
    ]

    assert statuses == [200, 429]
    assert value("overworld_throttled_total", scope="admin-login") - before == 1


@pytest.mark.django_db
def test_metrics_count_failed_logins_of_the_api_and_the_admin(metrics_on):
    make_user(username="root", is_staff=True, is_superuser=True)
    before = {
        where: value("overworld_login_failures_total", where=where) for where in ("api", "admin")
    }

    APIClient().post("/api/users/login/", {"username": "root", "password": "no"}, format="json")
    APIClient().post("/api/users/login/", {"username": "nobody", "password": "no"}, format="json")
    APIClient().post(
        "/api/users/login/", {"username": "root", "password": DEFAULT_PASSWORD}, format="json"
    )
    Client().post("/admin/login/", {"username": "root", "password": "no"})

    assert value("overworld_login_failures_total", where="api") - before["api"] == 2
    assert value("overworld_login_failures_total", where="admin") - before["admin"] == 1


@pytest.mark.django_db
def test_metrics_count_failed_logins_without_a_request_apart(metrics_on):
    from django.contrib.auth import authenticate

    make_user(username="theo")
    before = value("overworld_login_failures_total", where="other")

    assert authenticate(username="theo", password="wrong") is None
    assert value("overworld_login_failures_total", where="other") - before == 1


# --- The rules and the dashboard name real families ----------------------------------------------


def exposed_names() -> set[str]:
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}
    return {
        family.name + suffix for family in REGISTRY.collect() for suffix in suffixes[family.type]
    }


@pytest.mark.parametrize("path", ["deploy/prometheus/alerts.yml", "deploy/grafana/overworld.json"])
def test_metrics_rules_and_dashboard_query_only_families_that_exist(settings, path):
    text = (settings.BASE_DIR / path).read_text()
    queried = set(re.findall(r"\boverworld_[a-z_]+", text))

    assert queried
    assert queried - exposed_names() == set()


def test_metrics_dashboard_is_grafana_json_with_a_query_per_panel(settings):
    dashboard = json.loads((settings.BASE_DIR / "deploy/grafana/overworld.json").read_text())
    panels = [panel for panel in dashboard["panels"] if panel["type"] != "row"]

    assert dashboard["uid"] == "overworld-api"
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])
    assert all(panel["targets"] and all(t["expr"] for t in panel["targets"]) for panel in panels)
