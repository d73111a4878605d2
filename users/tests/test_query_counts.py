"""Queries per request, pinned: a change that adds one fails here (docs/performance.md).

Every count is the same on SQLite and PostgreSQL and does not grow with the profile's size.
"""

import pytest
from rest_framework import status

from games.tests.factories import make_game
from users.models import Follow
from users.tests.factories import make_user


def fill_profile(user, *, games: int, follows: int) -> None:
    """`games` games in each of the four lists, `follows` users followed and following back."""
    for list_name in ("played", "liked", "backlog", "wishlist"):
        getattr(user, list_name).set([make_game() for _ in range(games)])
    others = [make_user() for _ in range(follows)]
    Follow.objects.bulk_create(
        [Follow(follower=user, followee=other) for other in others]
        + [Follow(follower=other, followee=user) for other in others]
    )


@pytest.mark.parametrize(("games", "follows"), [(0, 0), (1, 1), (5, 12)])
def test_query_counts_profile_anonymous_one(
    api_client, user, django_assert_num_queries, games, follows
):
    # The database builds the whole document (users.profile_document): one query, any size.
    fill_profile(user, games=games, follows=follows)

    with django_assert_num_queries(1):
        response = api_client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_200_OK
    assert len(response.json()["followers"]) == follows


@pytest.mark.parametrize(("games", "follows"), [(0, 0), (5, 12)])
def test_query_counts_profile_authenticated_two(
    auth_client, other_user, django_assert_num_queries, games, follows
):
    # The token (joined to its user), then the document with `me` and `followingUser` in it.
    fill_profile(other_user, games=games, follows=follows)

    with django_assert_num_queries(2):
        response = auth_client.get("/api/users/badeline")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["followingUser"] is False


def test_query_counts_profile_by_profile_route_one(api_client, user, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = api_client.get("/api/users/profile/madeline")

    assert response.status_code == status.HTTP_200_OK


def test_query_counts_current_user_one(auth_client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = auth_client.get("/api/users/user/")

    assert response.status_code == status.HTTP_200_OK


def test_query_counts_follow_three(auth_client, user, other_user, django_assert_num_queries):
    # The token; the target by username; one INSERT that ignores a duplicate.
    with django_assert_num_queries(3):
        response = auth_client.post("/api/users/follow/", {"username": "badeline"}, format="json")

    assert response.status_code == status.HTTP_200_OK
    assert Follow.objects.filter(follower=user, followee=other_user).exists()


def test_query_counts_unfollow_three(auth_client, user, other_user, django_assert_num_queries):
    user.follow(other_user)

    # The token; the target by username; one DELETE.
    with django_assert_num_queries(3):
        response = auth_client.post("/api/users/unfollow/", {"username": "badeline"}, format="json")

    assert response.status_code == status.HTTP_200_OK
    assert not Follow.objects.filter(follower=user, followee=other_user).exists()


def test_query_counts_logout_two(auth_client, user, django_assert_num_queries):
    # The token; its DELETE.
    with django_assert_num_queries(2):
        response = auth_client.post("/api/users/logout/")

    assert response.status_code == status.HTTP_204_NO_CONTENT
    assert not user.auth_token_set.exists()


def test_query_counts_profile_update_bio_only(auth_client, user, django_assert_num_queries):
    fill_profile(user, games=3, follows=3)

    # The token; the user; SAVEPOINT, UPDATE, RELEASE; the answer's one profile query.
    with django_assert_num_queries(6):
        response = auth_client.post(
            "/api/users/profile/madeline", {"bio": "Climbing"}, format="json"
        )

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["bio"] == "Climbing"


def test_query_counts_profile_update_all_fields(auth_client, user, django_assert_num_queries):
    body = {
        "username": "madeline",
        "email": "madeline@example.com",
        "bio": "Climbing",
        "location": "Celeste Mountain",
        "twitter": None,
    }

    # As above, plus the case-insensitive uniqueness checks of username and email.
    with django_assert_num_queries(8):
        response = auth_client.post("/api/users/profile/madeline", body, format="json")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["location"] == "Celeste Mountain"
