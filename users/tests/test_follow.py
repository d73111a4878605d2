import pytest
from rest_framework import status

from users.models import Follow
from users.tests.factories import make_user

FOLLOW = "/api/users/follow/"
UNFOLLOW = "/api/users/unfollow/"


def post(client, url, **data):
    return client.post(url, data, format="json")


def follows(follower, followee):
    return Follow.objects.filter(follower=follower, followee=followee).exists()


# --- follow -------------------------------------------------------------------------------------


def test_follow_returns_empty_list(auth_client, other_user):
    response = post(auth_client, FOLLOW, username="badeline")

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == []


def test_follow_creates_row(auth_client, user, other_user):
    post(auth_client, FOLLOW, username="badeline")

    assert follows(user, other_user)
    assert not follows(other_user, user)
    assert Follow.objects.count() == 1


def test_follow_without_trailing_slash_succeeds(auth_client, user, other_user):
    response = post(auth_client, "/api/users/follow", username="badeline")

    assert response.status_code == status.HTTP_200_OK
    assert follows(user, other_user)


def test_follow_accepts_form_encoded_body(auth_client, user, other_user):
    response = auth_client.post(FOLLOW, {"username": "badeline"})

    assert response.status_code == status.HTTP_200_OK
    assert follows(user, other_user)


def test_follow_twice_keeps_one_row(auth_client, user, other_user):
    first = post(auth_client, FOLLOW, username="badeline")
    second = post(auth_client, FOLLOW, username="badeline")

    assert first.status_code == second.status_code == status.HTTP_200_OK
    assert second.json() == []
    assert Follow.objects.filter(follower=user, followee=other_user).count() == 1


@pytest.mark.parametrize("username", ["BADELINE", "Badeline"])
def test_follow_target_ignores_case(auth_client, user, other_user, username):
    response = post(auth_client, FOLLOW, username=username)

    assert response.status_code == status.HTTP_200_OK
    assert follows(user, other_user)


def test_follow_shows_in_both_profiles(auth_client, api_client, user, other_user):
    post(auth_client, FOLLOW, username="badeline")

    assert api_client.get("/api/users/madeline").json()["following"] == [other_user.pk]
    assert api_client.get("/api/users/badeline").json()["followers"] == [user.pk]


@pytest.mark.parametrize("username", ["madeline", "MADELINE"])
def test_follow_yourself_rejected(auth_client, user, username):
    response = post(auth_client, FOLLOW, username=username)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["You cannot follow yourself."]}
    assert not Follow.objects.exists()


def test_follow_unknown_user_not_found(auth_client, user):
    response = post(auth_client, FOLLOW, username="nobody")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Not found."}
    assert not Follow.objects.exists()


def test_follow_missing_username_rejected(auth_client, user):
    response = post(auth_client, FOLLOW)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["This field is required."]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "This field may not be blank."),
        ("   ", "This field may not be blank."),
        (None, "This field may not be null."),
        ("a" * 151, "Ensure this field has no more than 150 characters."),
        ("bade\x00line", "Null characters are not allowed."),
    ],
    ids=["empty", "spaces", "null", "too-long", "nul"],
)
def test_follow_invalid_username_rejected(auth_client, user, other_user, value, message):
    response = post(auth_client, FOLLOW, username=value)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": [message]}
    assert not Follow.objects.exists()


def test_follow_anonymous_unauthorized(api_client, other_user):
    response = post(api_client, FOLLOW, username="badeline")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert not Follow.objects.exists()


def test_follow_invalid_token_unauthorized(api_client, other_user):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)

    response = post(api_client, FOLLOW, username="badeline")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Invalid token."}
    assert not Follow.objects.exists()


def test_follow_non_object_body_rejected(auth_client, other_user):
    response = auth_client.post(FOLLOW, [1, 2], format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
    }


def test_follow_malformed_json_rejected(auth_client, other_user):
    response = auth_client.post(FOLLOW, '{"username": badeline}', content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["detail"].startswith("JSON parse error")
    assert not Follow.objects.exists()


def test_follow_text_plain_unsupported(auth_client, other_user):
    response = auth_client.post(FOLLOW, "badeline", content_type="text/plain")

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.'}


def test_follow_get_not_allowed(auth_client):
    response = auth_client.get(FOLLOW)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST, OPTIONS"
    assert response.json() == {"detail": 'Method "GET" not allowed.'}


# --- unfollow -----------------------------------------------------------------------------------


def test_unfollow_returns_empty_list(auth_client, user, other_user):
    user.follow(other_user)

    response = post(auth_client, UNFOLLOW, username="badeline")

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == []


def test_unfollow_deletes_row(auth_client, user, other_user):
    user.follow(other_user)

    post(auth_client, UNFOLLOW, username="badeline")

    assert not follows(user, other_user)


def test_unfollow_without_trailing_slash_succeeds(auth_client, user, other_user):
    user.follow(other_user)

    response = post(auth_client, "/api/users/unfollow", username="badeline")

    assert response.status_code == status.HTTP_200_OK
    assert not follows(user, other_user)


def test_unfollow_keeps_other_follows(auth_client, user, other_user):
    third = make_user(username="theo")
    user.follow(other_user)
    user.follow(third)
    other_user.follow(user)

    post(auth_client, UNFOLLOW, username="badeline")

    assert follows(user, third)
    assert follows(other_user, user)
    assert Follow.objects.count() == 2


def test_unfollow_not_followed_succeeds(auth_client, user, other_user):
    other_user.follow(user)

    response = post(auth_client, UNFOLLOW, username="badeline")

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == []
    assert follows(other_user, user)


def test_unfollow_twice_succeeds(auth_client, user, other_user):
    user.follow(other_user)

    first = post(auth_client, UNFOLLOW, username="badeline")
    second = post(auth_client, UNFOLLOW, username="badeline")

    assert first.status_code == second.status_code == status.HTTP_200_OK
    assert not Follow.objects.exists()


def test_unfollow_target_ignores_case(auth_client, user, other_user):
    user.follow(other_user)

    response = post(auth_client, UNFOLLOW, username="BADELINE")

    assert response.status_code == status.HTTP_200_OK
    assert not follows(user, other_user)


def test_unfollow_yourself_rejected(auth_client, user):
    response = post(auth_client, UNFOLLOW, username="madeline")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["You cannot unfollow yourself."]}


def test_unfollow_unknown_user_not_found(auth_client, user):
    response = post(auth_client, UNFOLLOW, username="nobody")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Not found."}


def test_unfollow_missing_username_rejected(auth_client, user):
    response = post(auth_client, UNFOLLOW)

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["This field is required."]}


def test_unfollow_blank_username_rejected(auth_client, user):
    response = post(auth_client, UNFOLLOW, username="")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"username": ["This field may not be blank."]}


def test_unfollow_anonymous_unauthorized(api_client, user, other_user):
    user.follow(other_user)

    response = post(api_client, UNFOLLOW, username="badeline")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert follows(user, other_user)


def test_unfollow_get_not_allowed(auth_client):
    response = auth_client.get(UNFOLLOW)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "POST, OPTIONS"
