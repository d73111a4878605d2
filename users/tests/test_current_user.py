import pytest
from rest_framework import status

URL = "/api/users/user/"


def test_current_user_returns_caller(auth_client, user):
    response = auth_client.get(URL)

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {
        "id": user.pk,
        "username": "madeline",
        "email": "madeline@example.com",
    }


def test_current_user_without_trailing_slash_succeeds(auth_client, user):
    response = auth_client.get("/api/users/user")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["id"] == user.pk


@pytest.mark.django_db
def test_current_user_anonymous_unauthorized(api_client):
    response = api_client.get(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response["WWW-Authenticate"] == "Token"


def test_current_user_inactive_user_unauthorized(auth_client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])

    response = auth_client.get(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "User inactive or deleted."}


def test_current_user_post_not_allowed(auth_client):
    response = auth_client.post(URL, {}, format="json")

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
