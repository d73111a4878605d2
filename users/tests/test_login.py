import pytest
from knox.models import AuthToken
from rest_framework import status

from users.tests.factories import DEFAULT_PASSWORD, make_user

URL = "/api/users/login/"
INCORRECT = {"non_field_errors": ["Incorrect username/password."]}


def log_in(client, username="madeline", password=DEFAULT_PASSWORD):
    return client.post(URL, {"username": username, "password": password}, format="json")


def test_login_returns_user_and_token(api_client, user):
    response = log_in(api_client)

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    assert list(body) == ["user", "token"]
    assert body["user"] == {"id": user.pk, "username": "madeline", "email": "madeline@example.com"}
    assert isinstance(body["token"], str)


def test_login_creates_one_token(api_client, user):
    log_in(api_client)

    assert AuthToken.objects.filter(user=user).count() == 1


def test_login_token_authenticates(api_client, user):
    token = log_in(api_client).json()["token"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.get("/api/users/user/")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["id"] == user.pk


@pytest.mark.parametrize("username", ["MADELINE", "Madeline", "madeLINE"])
def test_login_username_ignores_case(api_client, user, username):
    response = log_in(api_client, username=username)

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["user"]["username"] == "madeline"


def test_login_without_trailing_slash_succeeds(api_client, user):
    response = api_client.post(
        "/api/users/login", {"username": "madeline", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == status.HTTP_200_OK


def test_login_accepts_form_encoded_body(api_client, user):
    response = api_client.post(URL, {"username": "madeline", "password": DEFAULT_PASSWORD})

    assert response.status_code == status.HTTP_200_OK


def test_login_ignores_stale_authorization_header(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)

    response = log_in(api_client)

    assert response.status_code == status.HTTP_200_OK


def test_login_keeps_previous_tokens_valid(api_client, user):
    first = log_in(api_client).json()["token"]
    log_in(api_client)

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    response = api_client.get("/api/users/user/")

    assert response.status_code == status.HTTP_200_OK
    assert AuthToken.objects.filter(user=user).count() == 2


def test_login_over_token_limit_revokes_oldest(api_client, user, settings):
    settings.OVERWORLD_TOKEN_LIMIT_PER_USER = 2
    oldest = log_in(api_client).json()["token"]
    log_in(api_client)
    log_in(api_client)

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {oldest}")
    response = api_client.get("/api/users/user/")

    assert AuthToken.objects.filter(user=user).count() == 2
    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Invalid token."}


def test_login_wrong_password_rejected(api_client, user):
    response = log_in(api_client, password="not-the-password")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == INCORRECT
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_login_unknown_user_rejected(api_client):
    response = log_in(api_client, username="nobody")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == INCORRECT


@pytest.mark.django_db
def test_login_inactive_user_rejected(api_client):
    make_user(username="madeline", is_active=False)

    response = log_in(api_client)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == INCORRECT
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_login_failures_are_indistinguishable(api_client):
    make_user(username="madeline")
    make_user(username="sleeper", is_active=False)

    wrong_password = log_in(api_client, password="not-the-password")
    unknown_user = log_in(api_client, username="nobody")
    inactive_user = log_in(api_client, username="sleeper")

    assert wrong_password.status_code == unknown_user.status_code == inactive_user.status_code
    assert wrong_password.content == unknown_user.content == inactive_user.content


@pytest.mark.django_db
def test_login_missing_fields_rejected(api_client):
    response = api_client.post(URL, {}, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_login_username_with_nul_rejected(api_client, user):
    response = log_in(api_client, username="made\x00line")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["Null characters are not allowed."]}


def test_login_password_over_max_length_rejected(api_client, user):
    response = log_in(api_client, password="x" * 1025)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"password": ["Ensure this field has no more than 1024 characters."]}


@pytest.mark.django_db
def test_login_malformed_json_rejected(api_client):
    response = api_client.post(URL, "{not json", content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert list(response.json()) == ["detail"]
    assert response.json()["detail"].startswith("JSON parse error")


@pytest.mark.django_db
def test_login_text_plain_unsupported(api_client):
    response = api_client.post(URL, "madeline", content_type="text/plain")

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_login_body_over_one_mebibyte_rejected(api_client, user, content_type):
    padding = "x" * (1024 * 1024)
    body = (
        f'{{"username": "madeline", "password": "{padding}"}}'
        if content_type == "application/json"
        else f"username=madeline&password={padding}"
    )

    response = api_client.post(URL, body, content_type=content_type)

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is too large."}
    assert not AuthToken.objects.exists()


@pytest.mark.django_db
def test_login_get_not_allowed(api_client):
    response = api_client.get(URL)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST, OPTIONS"
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


def test_login_throttled_after_rate(api_client, user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "3/day"},
    }
    for _ in range(3):
        assert log_in(api_client, password="guess").status_code == status.HTTP_400_BAD_REQUEST

    response = log_in(api_client)

    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert int(response["Retry-After"]) > 0
    assert response.json() == {
        "detail": f"Request was throttled. Expected available in {response['Retry-After']} seconds."
    }
    assert not AuthToken.objects.exists()


def test_login_throttle_shared_with_register(api_client, user, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "3/day"},
    }
    for _ in range(3):
        log_in(api_client, password="guess")

    response = api_client.post(
        "/api/users/register/",
        {"username": "theo", "email": "theo@example.com", "password": "climb-the-mountain-42"},
        format="json",
    )

    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    assert "Retry-After" in response
