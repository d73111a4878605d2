import pytest
from knox.models import AuthToken
from rest_framework import status
from rest_framework.test import APIClient

URL = "/api/users/logout/"


def test_logout_returns_204_with_empty_body(auth_client):
    response = auth_client.post(URL)

    assert response.status_code == status.HTTP_204_NO_CONTENT
    assert response.content == b""


def test_logout_without_trailing_slash_succeeds(auth_client):
    response = auth_client.post("/api/users/logout")

    assert response.status_code == status.HTTP_204_NO_CONTENT


def test_logout_deletes_the_token(auth_client, user):
    auth_client.post(URL)

    assert not AuthToken.objects.filter(user=user).exists()


def test_logout_token_rejected_afterwards(auth_client):
    auth_client.post(URL)

    response = auth_client.get("/api/users/user/")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Invalid token."}


def test_logout_keeps_other_tokens_of_user(auth_client, user):
    _instance, other_token = AuthToken.objects.create(user=user)
    other_device = APIClient()
    other_device.credentials(HTTP_AUTHORIZATION=f"Token {other_token}")

    auth_client.post(URL)
    response = other_device.get("/api/users/user/")

    assert response.status_code == status.HTTP_200_OK
    assert AuthToken.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_logout_without_token_unauthorized(api_client):
    response = api_client.post(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


def test_logout_with_invalid_token_unauthorized(api_client, user):
    AuthToken.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)

    response = api_client.post(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Invalid token."}
    assert AuthToken.objects.filter(user=user).count() == 1


def test_logout_get_not_allowed(auth_client, user):
    response = auth_client.get(URL)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST, OPTIONS"
    assert response.json() == {"detail": 'Method "GET" not allowed.'}
    assert AuthToken.objects.filter(user=user).count() == 1
