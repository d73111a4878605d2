import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import status

from core.errors import field_errors
from users import services
from users.models import Follow, User
from users.serializers import ProfileUpdateSerializer
from users.tests.factories import DEFAULT_PASSWORD, make_user

URL = "/api/users/profile/madeline"
USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "A user with that email already exists."


@pytest.fixture
def user(db):
    return make_user(
        username="madeline",
        email="madeline@example.com",
        bio="I like games",
        location="A Mountain",
        twitter="madeline",
    )


def update(client, url=URL, **data):
    return client.post(url, data, format="json")


def test_profile_update_returns_updated_profile(auth_client, user):
    response = update(auth_client, bio="Climbing", location="Celeste Mountain")

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {
        "id": user.pk,
        "username": "madeline",
        "email": "madeline@example.com",
        "bio": "Climbing",
        "location": "Celeste Mountain",
        "twitter": "madeline",
        "played": [],
        "liked": [],
        "backlog": [],
        "wishlist": [],
        "following": [],
        "followers": [],
        "me": {"id": user.pk, "username": "madeline", "email": "madeline@example.com"},
        "followingUser": False,
    }


def test_profile_update_writes_all_five_fields(auth_client, user):
    update(
        auth_client,
        username="Theo",
        email="theo@example.com",
        bio="Photographer",
        location="Summit",
        twitter="theo",
    )

    user.refresh_from_db()
    assert (user.username, user.email, user.bio, user.location, user.twitter) == (
        "Theo",
        "theo@example.com",
        "Photographer",
        "Summit",
        "theo",
    )


def test_profile_update_with_trailing_slash_succeeds(auth_client, user):
    response = update(auth_client, url=URL + "/", bio="Climbing")

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert user.bio == "Climbing"


def test_profile_update_partial_keeps_other_fields(auth_client, user):
    update(auth_client, bio="Climbing")

    user.refresh_from_db()
    assert user.bio == "Climbing"
    assert user.location == "A Mountain"
    assert user.twitter == "madeline"
    assert user.email == "madeline@example.com"


def test_profile_update_empty_body_changes_nothing(auth_client, user):
    response = update(auth_client)

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert (user.bio, user.location, user.twitter) == ("I like games", "A Mountain", "madeline")


def test_profile_update_writes_only_given_fields(auth_client, user):
    with CaptureQueriesContext(connection) as queries:
        update(auth_client, bio="Climbing")

    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert '"bio"' in updates[0]
    assert '"location"' not in updates[0]
    assert '"username"' not in updates[0]


@pytest.mark.parametrize("field", ["bio", "location", "twitter"])
@pytest.mark.parametrize("value", [None, ""], ids=["null", "empty"])
def test_profile_update_clears_text_field(auth_client, user, field, value):
    response = update(auth_client, **{field: value})

    assert response.status_code == status.HTTP_200_OK
    assert response.json()[field] is None
    user.refresh_from_db()
    assert getattr(user, field) is None


def test_profile_update_frontend_body_with_unchanged_fields_succeeds(auth_client, user):
    user.twitter = None
    user.save(update_fields=["twitter"])

    response = update(
        auth_client,
        username="madeline",
        email="madeline@example.com",
        location="A Mountain",
        twitter=None,
        bio="I like games",
    )

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert (user.username, user.email, user.bio, user.location, user.twitter) == (
        "madeline",
        "madeline@example.com",
        "I like games",
        "A Mountain",
        None,
    )


@pytest.mark.parametrize(("field", "limit"), [("twitter", 15), ("location", 50), ("bio", 255)])
def test_profile_update_at_max_length_accepted(auth_client, user, field, limit):
    response = update(auth_client, **{field: "x" * limit})

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert getattr(user, field) == "x" * limit


@pytest.mark.parametrize(("field", "limit"), [("twitter", 15), ("location", 50), ("bio", 255)])
def test_profile_update_over_max_length_rejected(auth_client, user, field, limit):
    before = getattr(user, field)

    response = update(auth_client, **{field: "x" * (limit + 1)})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {field: [f"Ensure this field has no more than {limit} characters."]}
    user.refresh_from_db()
    assert getattr(user, field) == before


@pytest.mark.parametrize("taken", ["badeline", "BADELINE"])
def test_profile_update_username_taken_rejected(auth_client, user, other_user, taken):
    response = update(auth_client, username=taken)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": [USERNAME_TAKEN]}
    user.refresh_from_db()
    assert user.username == "madeline"


@pytest.mark.parametrize("taken", ["badeline@example.com", "BadeLine@Example.COM"])
def test_profile_update_email_taken_rejected(auth_client, user, other_user, taken):
    response = update(auth_client, email=taken)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"email": [EMAIL_TAKEN]}
    user.refresh_from_db()
    assert user.email == "madeline@example.com"


def test_profile_update_change_own_username_case(auth_client, user):
    response = update(auth_client, username="Madeline")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["username"] == "Madeline"
    user.refresh_from_db()
    assert user.username == "Madeline"


def test_profile_update_change_own_email_case(auth_client, user):
    response = update(auth_client, email="Madeline@Example.com")

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert user.email == "Madeline@example.com"


def test_profile_update_rename_moves_profile(auth_client, api_client, user):
    update(auth_client, username="theo")

    assert api_client.get("/api/users/theo").json()["id"] == user.pk
    assert api_client.get("/api/users/madeline").status_code == status.HTTP_404_NOT_FOUND


def test_profile_update_reserved_username_rejected(auth_client, user):
    response = update(auth_client, username="Login")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["This username is reserved."]}
    user.refresh_from_db()
    assert user.username == "madeline"


def test_profile_update_invalid_username_rejected(auth_client, user):
    response = update(auth_client, username="made line")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert list(response.json()) == ["username"]
    user.refresh_from_db()
    assert user.username == "madeline"


@pytest.mark.parametrize("field", ["username", "email"])
def test_profile_update_blank_identity_rejected(auth_client, user, field):
    response = update(auth_client, **{field: ""})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {field: ["This field may not be blank."]}


@pytest.mark.parametrize("field", ["username", "email"])
def test_profile_update_null_identity_rejected(auth_client, user, field):
    response = update(auth_client, **{field: None})

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {field: ["This field may not be null."]}


def test_profile_update_invalid_email_rejected(auth_client, user):
    response = update(auth_client, email="not-an-email")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"email": ["Enter a valid email address."]}
    user.refresh_from_db()
    assert user.email == "madeline@example.com"


def test_profile_update_nul_in_bio_rejected(auth_client, user):
    response = update(auth_client, bio="I like\x00games")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"bio": ["Null characters are not allowed."]}


def test_profile_update_ignores_unknown_keys(auth_client, user, other_user):
    response = update(
        auth_client,
        bio="Climbing",
        is_staff=True,
        is_superuser=True,
        is_active=False,
        password="new-password-123",
        id=user.pk + 1000,
        following=[other_user.pk],
        played=[1],
    )

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert user.bio == "Climbing"
    assert not user.is_staff
    assert not user.is_superuser
    assert user.is_active
    assert user.check_password(DEFAULT_PASSWORD)
    assert User.objects.filter(pk=user.pk).exists()
    assert not Follow.objects.exists()


def test_profile_update_other_users_profile_forbidden(auth_client, user, other_user):
    response = update(auth_client, url="/api/users/profile/badeline", bio="Hijacked")

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json() == {"detail": "You can only update your own profile."}
    other_user.refresh_from_db()
    assert other_user.bio is None


def test_profile_update_anonymous_unauthorized(api_client, user):
    response = update(api_client, bio="Hijacked")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    user.refresh_from_db()
    assert user.bio == "I like games"


def test_profile_update_invalid_token_unauthorized(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)

    response = update(api_client, bio="Hijacked")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Invalid token."}
    user.refresh_from_db()
    assert user.bio == "I like games"


def test_profile_update_unknown_user_not_found(auth_client, user):
    response = update(auth_client, url="/api/users/profile/nobody", bio="Hi")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Not found."}


def test_profile_update_own_profile_other_case_in_path(auth_client, user):
    response = update(auth_client, url="/api/users/profile/MADELINE", bio="Climbing")

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert user.bio == "Climbing"


def test_profile_update_non_object_body_rejected(auth_client, user):
    response = auth_client.post(URL, [1, 2], format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }
    user.refresh_from_db()
    assert user.bio == "I like games"


def test_profile_update_malformed_json_rejected(auth_client, user):
    response = auth_client.post(URL, '{"bio": "x",', content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert list(response.json()) == ["detail"]
    assert response.json()["detail"].startswith("JSON parse error")


def test_profile_update_text_plain_unsupported(auth_client, user):
    response = auth_client.post(URL, "bio=x", content_type="text/plain")

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


def test_profile_update_body_over_one_mebibyte_rejected(auth_client, user):
    body = '{"bio": "' + "x" * (1024 * 1024) + '"}'

    response = auth_client.post(URL, body, content_type="application/json")

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is too large."}
    user.refresh_from_db()
    assert user.bio == "I like games"


def test_profile_update_accepts_form_encoded_body(auth_client, user):
    response = auth_client.post(URL, {"bio": "Climbing"})

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert user.bio == "Climbing"


def test_profile_update_lost_uniqueness_race_reports_field_error(user):
    serializer = ProfileUpdateSerializer(user, data={"username": "theo"}, partial=True)
    assert serializer.is_valid()
    # Another account takes the name between validation and the UPDATE.
    make_user(username="Theo")

    with pytest.raises(DjangoValidationError) as excinfo:
        services.update_profile(user=user, **serializer.validated_data)

    # What the view answers (400) for the service's error.
    assert field_errors(excinfo.value).detail == {"username": [USERNAME_TAKEN]}
    assert User.objects.get(pk=user.pk).username == "madeline"


def test_profile_update_username_too_long_once_normalized_is_a_field_error(auth_client, user):
    response = update(auth_client, username="\ufdfa" * 10)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    # Its NFKC form holds spaces too.
    assert response.json() == {
        "username": [
            "Enter a valid username. This value may contain only letters, numbers, and "
            "@/./+/-/_ characters.",
            "Ensure this field has no more than 150 characters.",
        ]
    }
    user.refresh_from_db()
    assert user.username == "madeline"
