"""Request ids, the access line and the log formats (core.access, core.request_id, core.logs)."""

import json
import logging
import re

import pytest
from django.db import OperationalError
from rest_framework.test import APIClient

from core.logs import JsonFormatter, RequestContextFilter, TextFormatter, current_request_id
from overworld.tests.test_settings import run_python
from users import views

GENERATED = re.compile(r"[0-9a-f]{32}")


class Collect(logging.Handler):
    """Records as the console handler sees them: through RequestContextFilter."""

    def __init__(self):
        super().__init__()
        self.addFilter(RequestContextFilter())
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)

    def named(self, name: str) -> list[logging.LogRecord]:
        return [record for record in self.records if record.name == name]


@pytest.fixture
def logged():
    handler = Collect()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


@pytest.fixture
def proxies(settings):
    def trust(count: int):
        settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}

    return trust


# --- X-Request-ID -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/api/users/madeline", 200),
        ("get", "/api/users/nobody", 404),
        ("get", "/no-such-route", 404),
        ("put", "/api/users/login/", 405),
        ("get", "/api/users/user/", 401),
        ("get", "/healthz", 200),
    ],
)
def test_request_id_on_every_response(user, method, path, status):
    response = getattr(APIClient(), method)(path)

    assert response.status_code == status
    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_request_id_differs_per_request(user):
    client = APIClient()

    ids = {client.get("/api/users/madeline")["X-Request-ID"] for _ in range(5)}

    assert len(ids) == 5


def test_request_id_from_a_client_is_ignored_without_trusted_proxies(db, proxies):
    proxies(0)

    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID="chosen-by-the-client")

    assert GENERATED.fullmatch(response["X-Request-ID"])


@pytest.mark.parametrize(
    "given",
    ["4bf92f3577b34da6a3ce929d0e0e4736", "0b6f8a2e-9c1d-4e7f-8a3b-2c5d6e7f8a9b", "Root=1-6a/b.c:d"],
)
def test_request_id_from_a_trusted_proxy_is_kept(db, proxies, given):
    proxies(1)

    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID=given)

    assert response["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given",
    ["", "x" * 129, "two words", 'quote"d', "new\nline", "tab\there", "naïve", "a;b", "<script>"],
)
def test_request_id_from_a_trusted_proxy_that_does_not_look_like_one_is_replaced(
    db, proxies, given
):
    proxies(1)

    response = APIClient().get("/healthz", HTTP_X_REQUEST_ID=given)

    assert GENERATED.fullmatch(response["X-Request-ID"])


def test_request_id_is_exposed_to_the_frontend_by_cors(db, settings):
    response = APIClient().get("/api/users/nobody", HTTP_ORIGIN=settings.CORS_ALLOWED_ORIGINS[0])

    assert response["Access-Control-Expose-Headers"] == "X-Request-ID"


# --- Log lines carry it -------------------------------------------------------------------------


def test_access_line_for_each_request(user, logged):
    response = APIClient().get("/api/users/madeline?x=1", REMOTE_ADDR="192.0.2.7")

    [record] = logged.named("core.access")
    assert record.levelno == logging.INFO
    size = len(response.content)
    assert record.getMessage() == (
        f'192.0.2.7 "GET /api/users/madeline?x=1 HTTP/1.1" 200 {size} '
        f"{record.access['duration_ms']}ms route=api/users/<username>"
    )
    assert record.request_id == response["X-Request-ID"]
    assert record.access == {
        "method": "GET",
        "route": "api/users/<username>",
        "path": "/api/users/madeline?x=1",
        "status": 200,
        "bytes": size,
        "duration_ms": record.access["duration_ms"],
        "client": "192.0.2.7",
    }
    assert record.access["duration_ms"] >= 0


def test_access_line_escapes_what_the_path_could_smuggle(db, logged):
    APIClient().get("/api/users/a%0Ab%22c%20d")

    [record] = logged.named("core.access")
    assert "\n" not in record.getMessage()
    assert '"GET /api/users/a%0Ab%22c%20d HTTP/1.1" 404' in record.getMessage()


def test_access_line_names_the_client_the_throttle_sees(db, logged, proxies):
    proxies(1)

    APIClient().get("/healthz", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.4")

    [record] = logged.named("core.access")
    assert record.access["client"] == "198.51.100.4"


def test_access_line_can_be_turned_off(db, logged, settings):
    settings.OVERWORLD_ACCESS_LOG = False

    response = APIClient().get("/healthz")

    assert response.status_code == 200
    assert logged.named("core.access") == []


def test_request_id_on_the_503_dependency_line(user, logged, monkeypatch, settings):
    settings.DATABASE_REPLICAS = []

    def fail(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "profile_document", fail)

    response = APIClient(raise_request_exception=False).get("/api/users/madeline")

    assert response.status_code == 503
    [line] = logged.named("core.unavailable")
    assert line.request_id == response["X-Request-ID"]
    [access] = logged.named("core.access")
    assert access.request_id == response["X-Request-ID"]
    assert access.access["status"] == 503


def test_request_id_on_djangos_own_4xx_line_and_cleared_after_the_response(db, logged):
    response = APIClient().get("/no-such-route")

    [warning] = logged.named("django.request")
    assert warning.getMessage() == "Not Found: /no-such-route"
    assert warning.request_id == response["X-Request-ID"]
    assert current_request_id() is None
    logging.getLogger("core.tests").warning("after the request")
    assert logged.named("core.tests")[0].request_id is None


# --- Formats ------------------------------------------------------------------------------------


def record(message="hello", request_id=None, **extra) -> logging.LogRecord:
    made = logging.LogRecord("core.tests", logging.WARNING, __file__, 1, message, (), None)
    made.request_id = request_id
    made.__dict__.update(extra)
    return made


def test_log_text_format_adds_the_request_id_only_inside_a_request():
    formatter = TextFormatter("%(levelname)s %(name)s %(message)s")

    assert formatter.format(record()) == "WARNING core.tests hello"
    assert formatter.format(record(request_id="abc")) == "WARNING core.tests hello request_id=abc"


def test_log_text_format_puts_the_request_id_before_a_traceback():
    formatter = TextFormatter("%(message)s")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = record(request_id="abc")
        failed.exc_info = sys.exc_info()

    lines = formatter.format(failed).splitlines()
    assert lines[0] == "hello request_id=abc"
    assert lines[1] == "Traceback (most recent call last):"


def test_log_json_format_is_one_object_per_line():
    access = {"method": "GET", "route": "healthz", "path": "/healthz", "status": 200,
              "bytes": 16, "duration_ms": 1.5, "client": "127.0.0.1"}  # fmt: skip
    line = JsonFormatter().format(record('say "hi"\nthere', request_id="abc", access=access))

    assert "\n" not in line
    document = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", document.pop("time"))
    assert isinstance(document.pop("process"), int)
    assert document == {
        "level": "WARNING",
        "logger": "core.tests",
        "message": 'say "hi"\nthere',
        "request_id": "abc",
        **access,
    }


def test_log_json_format_keeps_a_traceback_in_one_field():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = record()
        failed.exc_info = sys.exc_info()

    document = json.loads(JsonFormatter().format(failed))

    assert document["request_id"] is None
    assert document["exception"].startswith("Traceback (most recent call last):")
    assert document["exception"].endswith("ValueError: boom")


PROBE = """
import logging
logging.getLogger("core.tests").warning("probe %s", "record")
"""


def test_log_format_json_from_the_environment_writes_json_lines():
    result = run_python(
        PROBE, DJANGO_SECRET_KEY="log-tests", OVERWORLD_LOG_FORMAT="JSON", DJANGO_DEBUG="0"
    )

    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "probe" in line]
    document = json.loads(line)
    assert (document["level"], document["logger"], document["message"]) == (
        "WARNING",
        "core.tests",
        "probe record",
    )


def test_log_format_default_is_text():
    result = run_python(PROBE, DJANGO_SECRET_KEY="log-tests", DJANGO_DEBUG="0")

    assert result.returncode == 0, result.stderr
    assert "WARNING core.tests probe record" in result.stderr


def test_log_format_refuses_an_unknown_value():
    result = run_python(PROBE, DJANGO_SECRET_KEY="log-tests", OVERWORLD_LOG_FORMAT="xml")

    assert result.returncode != 0
    assert "OVERWORLD_LOG_FORMAT must be 'text' or 'json', not 'xml'." in result.stderr
