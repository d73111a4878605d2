"""OVERWORLD_PROFILE_EMAIL: who sees a profile's `email` (public: everyone; owner: its owner)."""

import pytest
from rest_framework import status

from overworld.tests.test_settings import SETTINGS_ONLY_KEY, run_python
from users.tests.test_profile import PROFILE_KEYS


@pytest.fixture
def owner_only(settings):
    settings.OVERWORLD_PROFILE_EMAIL = "owner"


def test_profile_email_public_by_default_to_anonymous_readers(api_client, user):
    response = api_client.get("/api/users/madeline")

    assert response.json()["email"] == "madeline@example.com"


def test_profile_email_public_to_other_users(auth_client, other_user):
    response = auth_client.get("/api/users/badeline")

    assert response.json()["email"] == "badeline@example.com"


def test_profile_email_owner_hidden_from_anonymous_readers(api_client, user, owner_only):
    response = api_client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_200_OK
    assert list(response.json()) == PROFILE_KEYS
    assert response.json()["email"] is None


def test_profile_email_owner_hidden_from_other_users(auth_client, user, other_user, owner_only):
    response = auth_client.get("/api/users/profile/badeline")

    body = response.json()
    assert list(body) == [*PROFILE_KEYS, "me", "followingUser"]
    assert body["email"] is None
    # The caller still sees their own address in `me`.
    assert body["me"]["email"] == "madeline@example.com"


def test_profile_email_owner_shown_to_the_owner(auth_client, user, owner_only):
    response = auth_client.get("/api/users/madeline")

    assert response.json()["email"] == "madeline@example.com"


def test_profile_email_owner_shown_in_the_update_answer(auth_client, user, owner_only):
    response = auth_client.post("/api/users/profile/madeline", {"bio": "hi"}, format="json")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["email"] == "madeline@example.com"


def test_profile_email_owner_changes_the_etag_between_owner_and_others(
    api_client, auth_client, user, owner_only
):
    anonymous = api_client.get("/api/users/madeline")
    owner = auth_client.get("/api/users/madeline")

    assert anonymous["ETag"] != owner["ETag"]


@pytest.mark.parametrize(("value", "expected"), [("", "public"), (" Owner ", "owner")])
def test_profile_email_setting_read_from_environment(value, expected):
    result = run_python(
        "print(settings.OVERWORLD_PROFILE_EMAIL)",
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY=SETTINGS_ONLY_KEY,
        OVERWORLD_PROFILE_EMAIL=value,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_profile_email_invalid_value_refuses_to_start():
    result = run_python(
        "print(settings.OVERWORLD_PROFILE_EMAIL)",
        DJANGO_DEBUG="1",
        DJANGO_SECRET_KEY=SETTINGS_ONLY_KEY,
        OVERWORLD_PROFILE_EMAIL="friends",
    )

    assert result.returncode != 0
    assert "OVERWORLD_PROFILE_EMAIL must be 'public' or 'owner', not 'friends'" in result.stderr
    assert result.stdout == ""
