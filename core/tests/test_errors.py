"""Errors Django or DRF produce outside the views still answer the contract's JSON (core.errors)."""

import pytest
from rest_framework import status

SECRET_IN_EXCEPTION = "boom: internal detail that must not leak"


def explode(*args, **kwargs):
    raise RuntimeError(SECRET_IN_EXCEPTION)


def test_unhandled_error_in_api_view_answers_json_500_without_traceback(
    raising_client, user, monkeypatch
):
    # The profile read's selector, called by the view (users.views imports it by name).
    monkeypatch.setattr("users.views.profile_document", explode)

    response = raising_client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "A server error occurred."}
    assert b"Traceback" not in response.content
    assert b"boom" not in response.content


@pytest.mark.urls("core.tests.urls_raising")
def test_unhandled_error_in_plain_django_view_answers_json_500(raising_client, db):
    response = raising_client.get("/raise/")

    assert response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
    assert response.json() == {"detail": "A server error occurred."}
    assert b"boom" not in response.content


@pytest.mark.parametrize("path", ["/api/", "/api/users/", "/nothing/here", "/static/x.js"])
def test_unknown_path_answers_json_404(api_client, db, path):
    response = api_client.get(path)

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("method", ["get", "post", "put", "delete"])
def test_root_answers_json_404_that_points_to_the_docs(api_client, db, method):
    response = getattr(api_client, method)("/")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Not found. The API is documented at /api/docs/ (OpenAPI schema: /api/schema/)."
    }


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "image/*", ";;;", "\x00"])
def test_unsatisfiable_accept_header_still_answers_json(api_client, user, accept):
    response = api_client.get("/api/users/madeline", HTTP_ACCEPT=accept)

    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"] == "application/json"
    assert response.json()["username"] == "madeline"


def test_unknown_format_parameter_still_answers_json(api_client, user):
    response = api_client.get("/api/users/madeline?format=xml")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["username"] == "madeline"


def test_body_over_limit_answers_413_before_routing(api_client, db, settings):
    body = b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    response = api_client.generic("POST", "/nowhere/", body, content_type="text/plain")

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is too large."}


def test_body_at_limit_is_read(auth_client, user, settings):
    padding = settings.DATA_UPLOAD_MAX_MEMORY_SIZE - len('{"bio": "", "x": ""}')
    body = '{"bio": "", "x": "' + "x" * padding + '"}'

    response = auth_client.generic(
        "POST", "/api/users/profile/madeline", body, content_type="application/json"
    )

    assert response.status_code == status.HTTP_200_OK


@pytest.mark.parametrize("length", ["abc", ""])
def test_unparseable_content_length_reads_as_no_body(auth_client, user, length):
    response = auth_client.generic(
        "POST", "/api/users/follow/", "", content_type="application/json", CONTENT_LENGTH=length
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["This field is required."]}


def test_negative_content_length_answers_400(auth_client, user):
    response = auth_client.generic(
        "POST", "/api/users/follow/", "", content_type="application/json", CONTENT_LENGTH="-1"
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["detail"].startswith("JSON parse error - ")


# --- CSRF: Django's test clients skip the CSRF check unless told not to (csrf_client) ----------


@pytest.mark.django_db
@pytest.mark.urls("core.tests.urls_raising")
def test_csrf_failure_of_a_plain_view_answers_json_403(csrf_client):
    response = csrf_client.post("/form/", {"x": "1"})

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "CSRF Failed: CSRF cookie not set."}


@pytest.mark.django_db
def test_csrf_failure_of_the_admin_login_keeps_django_html_page(csrf_client):
    # The admin's forms are for people in a browser: Django's page tells them what to do.
    response = csrf_client.post("/admin/login/", {"username": "a", "password": "b"})

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response["Content-Type"].startswith("text/html")
    assert b"CSRF verification failed" in response.content


def test_errors_no_view_catches_a_business_error():
    # One error map: services raise, core.errors.exception_handler answers (issue 22).
    import ast
    from pathlib import Path

    views = [Path(__file__).parents[2] / app / "views.py" for app in ("core", "users")]
    tries = [
        f"{path.parent.name}/views.py:{node.lineno}"
        for path in views
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Try)
    ]
    assert tries == []


def test_errors_application_error_answers_as_it_names():
    from types import SimpleNamespace

    from rest_framework.exceptions import Throttled

    from core.errors import exception_handler
    from users.services import LoginLocked, LoginRefused, SelfFollow

    def answer(exc):
        return exception_handler(exc, {"request": SimpleNamespace(), "view": None})

    refused = answer(LoginRefused())
    assert (refused.status_code, refused.data) == (
        status.HTTP_400_BAD_REQUEST,
        {"non_field_errors": ["Incorrect username/password."]},
    )
    locked = answer(LoginLocked(wait=7))
    assert (locked.status_code, locked["Retry-After"]) == (Throttled.status_code, "7")
    self_follow = answer(SelfFollow("You cannot follow yourself."))
    assert (self_follow.status_code, self_follow.data) == (
        status.HTTP_400_BAD_REQUEST,
        {"username": ["You cannot follow yourself."]},
    )
