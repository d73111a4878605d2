"""Password hashing (~0.2 s of CPU in production) runs only on register and login, and never
while a database transaction (and so possibly a lock) is open."""

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import connection
from rest_framework import status
from rest_framework.test import APIClient

from users.tests.factories import DEFAULT_PASSWORD, make_user

HASHER = "users.tests.test_password_hashing.RecordingHasher"


class RecordingHasher(MD5PasswordHasher):
    """MD5 (fast, tests only) that records whether a transaction was open at each hash."""

    in_atomic_block: list[bool] = []

    def encode(self, password, salt):
        RecordingHasher.in_atomic_block.append(connection.in_atomic_block)
        return super().encode(password, salt)


@pytest.fixture
def hashes(settings):
    settings.PASSWORD_HASHERS = [HASHER]
    RecordingHasher.in_atomic_block = []
    return RecordingHasher.in_atomic_block


@pytest.mark.django_db(transaction=True)
def test_password_hashing_register_outside_transaction(hashes):
    response = APIClient().post(
        "/api/users/register/",
        {"username": "madeline", "email": "madeline@example.com", "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == status.HTTP_200_OK
    assert hashes == [False]


@pytest.mark.django_db(transaction=True)
def test_password_hashing_login_outside_transaction(hashes):
    make_user(username="madeline")
    hashes.clear()

    response = APIClient().post(
        "/api/users/login/", {"username": "madeline", "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == status.HTTP_200_OK
    assert hashes == [False]


@pytest.mark.django_db(transaction=True)
def test_password_hashing_not_on_token_requests(hashes):
    madeline = make_user(username="madeline")
    make_user(username="badeline")
    client = APIClient()
    token = client.post(
        "/api/users/login/", {"username": "madeline", "password": DEFAULT_PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    hashes.clear()

    responses = [
        client.get("/api/users/user/"),
        client.get("/api/users/badeline"),
        client.post("/api/users/follow/", {"username": "badeline"}, format="json"),
        client.post("/api/users/profile/madeline", {"bio": "Climbing"}, format="json"),
        client.post("/api/users/unfollow/", {"username": "badeline"}, format="json"),
        client.post("/api/users/logout/"),
    ]

    assert [r.status_code for r in responses] == [200, 200, 200, 200, 200, 204]
    assert hashes == []
    assert not madeline.auth_token_set.exists()
