import importlib

import pytest
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status

from core.errors import field_errors
from users import services
from users.models import RESERVED_USERNAMES, User
from users.serializers import RegisterSerializer
from users.tests.factories import make_user

URL = "/api/users/register/"
PASSWORD = "climb-the-mountain-42"
USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "A user with that email already exists."
ARGON2 = "django.contrib.auth.hashers.Argon2PasswordHasher"


def register(client, **fields):
    data = {"username": "theo", "email": "theo@example.com", "password": PASSWORD, **fields}
    return client.post(URL, data, format="json")


@pytest.mark.django_db
def test_register_returns_user_and_token(api_client):
    response = register(api_client)

    assert response.status_code == status.HTTP_200_OK
    body = response.json()
    created = User.objects.get(username="theo")
    assert list(body) == ["user", "token"]
    assert body["user"] == {"id": created.pk, "username": "theo", "email": "theo@example.com"}
    assert isinstance(body["token"], str)
    assert body["token"]


@pytest.mark.django_db
def test_register_creates_user_with_hashed_password(api_client):
    register(api_client)

    created = User.objects.get(username="theo")
    assert created.email == "theo@example.com"
    assert created.password != PASSWORD
    assert created.check_password(PASSWORD)
    assert created.is_active
    assert not created.is_staff
    assert not created.is_superuser


@pytest.mark.django_db
def test_register_token_authenticates(api_client):
    token = register(api_client).json()["token"]

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.get("/api/users/user/")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["username"] == "theo"


@pytest.mark.django_db
def test_register_without_trailing_slash_succeeds(api_client):
    response = api_client.post(
        "/api/users/register",
        {"username": "theo", "email": "theo@example.com", "password": PASSWORD},
        format="json",
    )

    assert response.status_code == status.HTTP_200_OK
    assert User.objects.filter(username="theo").exists()


@pytest.mark.django_db
def test_register_accepts_form_encoded_body(api_client):
    response = api_client.post(
        URL, {"username": "theo", "email": "theo@example.com", "password": PASSWORD}
    )

    assert response.status_code == status.HTTP_200_OK
    assert User.objects.filter(username="theo").exists()


@pytest.mark.django_db
def test_register_ignores_stale_authorization_header(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)

    response = register(api_client)

    assert response.status_code == status.HTTP_200_OK


@pytest.mark.parametrize("taken", ["madeline", "MADELINE", "Madeline"])
def test_register_duplicate_username_rejected_regardless_of_case(api_client, user, taken):
    response = register(api_client, username=taken, email="someone@example.com")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": [USERNAME_TAKEN]}
    assert User.objects.count() == 1


@pytest.mark.parametrize("taken", ["madeline@example.com", "MADELINE@EXAMPLE.COM"])
def test_register_duplicate_email_rejected_regardless_of_case(api_client, user, taken):
    response = register(api_client, email=taken)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"email": [EMAIL_TAKEN]}
    assert not User.objects.filter(username="theo").exists()


@pytest.mark.parametrize(
    "username", ["bad name", "bad/name", "bad!name", "bad#name", "bäd\u2028name"]
)
@pytest.mark.django_db
def test_register_invalid_username_characters_rejected(api_client, username):
    response = register(api_client, username=username)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": [UnicodeUsernameValidator.message]}
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_register_username_over_150_characters_rejected(api_client):
    response = register(api_client, username="a" * 151)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["Ensure this field has no more than 150 characters."]}
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_register_username_with_nul_rejected(api_client):
    response = register(api_client, username="the\x00o")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "username": [UnicodeUsernameValidator.message, "Null characters are not allowed."]
    }
    assert User.objects.count() == 0


@pytest.mark.parametrize("username", [*RESERVED_USERNAMES, "Login", "USER", "Profile", "unFollow"])
@pytest.mark.django_db
def test_register_reserved_username_rejected(api_client, username):
    response = register(api_client, username=username)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["This username is reserved."]}
    assert User.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        (
            {"password": "Xq7!kz"},
            ["This password is too short. It must contain at least 8 characters."],
        ),
        ({"password": "password"}, ["This password is too common."]),
        ({"password": "83920174561"}, ["This password is entirely numeric."]),
        (
            {"password": "12345678"},
            ["This password is too common.", "This password is entirely numeric."],
        ),
        (
            {"username": "celestial", "password": "celestial1"},
            ["The password is too similar to the username."],
        ),
        (
            {"email": "summitclimber@example.com", "password": "summitclimber"},
            ["The password is too similar to the email address."],
        ),
    ],
    ids=["short", "common", "numeric", "common-and-numeric", "like-username", "like-email"],
)
@pytest.mark.django_db
def test_register_weak_password_rejected(api_client, fields, errors):
    response = register(api_client, **fields)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"password": errors}
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_register_missing_fields_rejected(api_client):
    response = api_client.post(URL, {}, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "username": ["This field is required."],
        "email": ["This field is required."],
        "password": ["This field is required."],
    }
    assert User.objects.count() == 0


@pytest.mark.parametrize("field", ["username", "email", "password"])
@pytest.mark.django_db
def test_register_blank_field_rejected(api_client, field):
    response = register(api_client, **{field: ""})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {field: ["This field may not be blank."]}
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_register_invalid_email_rejected(api_client):
    response = register(api_client, email="not-an-email")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"email": ["Enter a valid email address."]}
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_register_ignores_privilege_keys(api_client):
    response = register(api_client, is_staff=True, is_superuser=True)

    assert response.status_code == status.HTTP_200_OK
    created = User.objects.get(username="theo")
    assert not created.is_staff
    assert not created.is_superuser


@pytest.mark.django_db
def test_register_malformed_json_rejected(api_client):
    response = api_client.post(URL, '{"username": ', content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert list(response.json()) == ["detail"]
    assert response.json()["detail"].startswith("JSON parse error")
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_register_non_object_json_rejected(api_client):
    response = api_client.post(URL, [1, 2], format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


@pytest.mark.django_db
def test_register_text_plain_unsupported(api_client):
    response = api_client.post(URL, "username=theo", content_type="text/plain")

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}
    assert User.objects.count() == 0


@pytest.mark.django_db
def test_register_get_not_allowed(api_client):
    response = api_client.get(URL)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST, OPTIONS"
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


def test_register_production_hasher_is_argon2():
    # conftest swaps in MD5 through the `settings` fixture; the module keeps the real list.
    production = importlib.import_module("overworld.settings")

    assert production.PASSWORD_HASHERS[0] == ARGON2


@pytest.mark.django_db
def test_register_hashes_password_with_argon2(api_client, settings):
    settings.PASSWORD_HASHERS = importlib.import_module("overworld.settings").PASSWORD_HASHERS

    register(api_client)

    created = User.objects.get(username="theo")
    assert created.password.startswith("argon2")
    assert created.check_password(PASSWORD)


def test_register_reports_password_beside_taken_username(api_client, user):
    response = register(api_client, username="MADELINE", password="password")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "username": [USERNAME_TAKEN],
        "password": ["This password is too common."],
    }
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_register_lost_uniqueness_race_reports_field_errors():
    serializer = RegisterSerializer(
        data={"username": "theo", "email": "theo@example.com", "password": PASSWORD}
    )
    assert serializer.is_valid()
    # A concurrent registration takes both names between validation and the INSERT.
    make_user(username="THEO", email="Theo@Example.com")

    with pytest.raises(DjangoValidationError) as excinfo:
        services.register(**serializer.validated_data)

    # What the view answers (400) for the service's error.
    assert field_errors(excinfo.value).detail == {
        "username": [USERNAME_TAKEN],
        "email": [EMAIL_TAKEN],
    }
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_register_username_too_long_once_normalized_is_a_field_error(api_client):
    # 150 characters as sent, 2,700 once NFKC-normalized as usernames are stored.
    response = register(api_client, username="\ufdfa" * 150)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    # Its NFKC form holds spaces too.
    assert response.json() == {
        "username": [
            "Enter a valid username. This value may contain only letters, numbers, and "
            "@/./+/-/_ characters.",
            "Ensure this field has no more than 150 characters.",
        ]
    }
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_username_invalid_once_normalized_is_a_field_error(api_client):
    # "½" is a letter-like character that NFKC turns into "1⁄2", whose "⁄" a username may not hold.
    response = register(api_client, username="x\u00bd")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": [UnicodeUsernameValidator.message]}
    assert not User.objects.exists()


@pytest.mark.django_db
def test_register_json_nested_too_deeply_is_a_400(api_client):
    body = "[" * 100_000 + "]" * 100_000

    response = api_client.post(URL, body, content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": "JSON parse error - nested too deeply."}
    assert not User.objects.exists()
