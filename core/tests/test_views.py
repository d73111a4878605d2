"""A wrong method answers 405 with `Allow` before the CSRF check, a token or a throttle
(core.views). `csrf_client` is subject to the CSRF check, as a browser or curl would be."""

import pytest
from rest_framework import status
from rest_framework.test import APIClient


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/healthz", "/healthz/"])
def test_healthz_other_method_answers_json_405_despite_the_csrf_check(csrf_client, method, path):
    response = getattr(csrf_client, method)(path)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize(
    ("path", "allow"),
    [("/api/schema/", "GET, HEAD, OPTIONS"), ("/api/docs/", "GET, HEAD, OPTIONS")],
)
def test_schema_and_docs_other_method_answers_json_405(csrf_client, method, path, allow):
    response = getattr(csrf_client, method)(path)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Content-Type"] == "application/json"
    assert response["Allow"] == allow
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


@pytest.mark.django_db
def test_schema_post_asking_for_yaml_still_gets_json_405(csrf_client):
    response = csrf_client.post("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_wrong_method_on_a_throttled_route_answers_405_not_429(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "1/day"},
    }
    client = APIClient(enforce_csrf_checks=True)
    login = {"username": "nobody", "password": "wrong-password"}
    assert client.post("/api/users/login/", login, format="json").status_code == 400
    assert client.post("/api/users/login/", login, format="json").status_code == 429

    response = client.get("/api/users/login/")

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST, OPTIONS"
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("get", "/api/users/follow/", "POST, OPTIONS"),
        ("get", "/api/users/unfollow/", "POST, OPTIONS"),
        ("get", "/api/users/logout/", "POST, OPTIONS"),
        ("post", "/api/users/user/", "GET, HEAD, OPTIONS"),
        ("delete", "/api/users/profile/madeline", "GET, POST, HEAD, OPTIONS"),
    ],
)
def test_wrong_method_without_a_token_answers_405_not_401(method, path, allow):
    # The method is checked before authentication: no credentials do not hide a wrong method.
    client = APIClient(enforce_csrf_checks=True)

    response = getattr(client, method)(path)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == allow
    assert response.json() == {"detail": f'Method "{method.upper()}" not allowed.'}


@pytest.mark.django_db
def test_right_method_without_a_token_still_answers_401():
    client = APIClient(enforce_csrf_checks=True)

    response = client.post("/api/users/follow/", {"username": "madeline"}, format="json")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
