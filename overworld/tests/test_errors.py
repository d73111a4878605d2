"""Errors Django or DRF produce outside the views still answer the contract's JSON."""

import pytest
from rest_framework import status
from rest_framework.test import APIClient

SECRET_IN_EXCEPTION = "boom: internal detail that must not leak"


@pytest.fixture
def raising_client() -> APIClient:
    # raise_request_exception=False: answer as a server would instead of re-raising in the test.
    return APIClient(SERVER_NAME="localhost", raise_request_exception=False)


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


@pytest.mark.urls("overworld.tests.urls_raising")
def test_unhandled_error_in_plain_django_view_answers_json_500(raising_client, db):
    response = raising_client.get("/raise/")

    assert response.status_code == status.HTTP_500_INTERNAL_SERVER_ERROR
    assert response.json() == {"detail": "A server error occurred."}
    assert b"boom" not in response.content


@pytest.mark.parametrize("path", ["/", "/api/", "/api/users/", "/nothing/here", "/static/x.js"])
def test_unknown_path_answers_json_404(api_client, db, path):
    response = api_client.get(path)

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


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
