"""Login answers, token lifetime and the cap on live tokens per user."""

from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework import status

from users.tests.factories import DEFAULT_PASSWORD, make_user

LOGIN = "/api/users/login/"


def login(client, username, password=DEFAULT_PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password}, format="json")


@pytest.mark.django_db
def test_login_failure_bodies_are_byte_identical(api_client):
    make_user(username="madeline")
    make_user(username="theo", is_active=False)

    unknown = login(api_client, "nobody")
    wrong_password = login(api_client, "madeline", "not-the-password")
    inactive = login(api_client, "theo")

    assert unknown.status_code == status.HTTP_400_BAD_REQUEST
    assert wrong_password.status_code == status.HTTP_400_BAD_REQUEST
    assert inactive.status_code == status.HTTP_400_BAD_REQUEST
    assert unknown.content == b'{"non_field_errors":["Incorrect username/password."]}'
    assert wrong_password.content == unknown.content
    assert inactive.content == unknown.content


@pytest.mark.django_db
def test_login_token_expiry_is_token_ttl(api_client):
    make_user(username="madeline")
    before = timezone.now()

    response = login(api_client, "madeline")

    assert response.status_code == status.HTTP_200_OK
    expiry = AuthToken.objects.get().expiry
    assert before + timedelta(hours=10) <= expiry <= timezone.now() + timedelta(hours=10)


@pytest.mark.django_db
def test_expired_token_is_refused_as_invalid(auth_client, user):
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))

    response = auth_client.get("/api/users/user/")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Invalid token."}


@pytest.mark.django_db
def test_token_still_in_lifetime_is_accepted(auth_client, user):
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() + timedelta(seconds=30))

    response = auth_client.get("/api/users/user/")

    assert response.status_code == status.HTTP_200_OK


@pytest.mark.django_db
def test_login_beyond_token_limit_revokes_oldest(api_client, settings):
    settings.OVERWORLD_TOKEN_LIMIT_PER_USER = 3
    user = make_user(username="madeline")

    tokens = [login(api_client, "madeline").json()["token"] for _ in range(4)]

    assert AuthToken.objects.filter(user=user).count() == 3
    answers = [
        api_client.get("/api/users/user/", HTTP_AUTHORIZATION=f"Token {token}").status_code
        for token in tokens
    ]
    assert answers == [401, 200, 200, 200]
