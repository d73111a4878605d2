"""Deleting removes only what belongs to the deleted row; a profile update writes only its
allow-list, whatever else the body holds."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from knox.models import AuthToken
from rest_framework import status
from rest_framework.test import APIClient

from games.models import Game
from games.tests.factories import make_game
from users.models import GAME_LISTS, Follow, User
from users.tests.factories import make_user

PROFILE_ALLOW_LIST = {"username", "email", "bio", "location", "twitter"}


def list_rows() -> set[tuple[str, int, int]]:
    """(list, user id, game id) of every game-list row."""
    rows = set()
    for name in GAME_LISTS:
        through = User._meta.get_field(name).remote_field.through
        rows |= {(name, u, g) for u, g in through.objects.values_list("user_id", "game_id")}
    return rows


def snapshot() -> dict:
    return {
        "users": {row["id"]: row for row in User.objects.values()},
        "games": set(Game.objects.values_list("pk", "igdb", "name")),
        "lists": list_rows(),
        "follows": set(Follow.objects.values_list("follower_id", "followee_id")),
        "tokens": set(AuthToken.objects.values_list("digest", "user_id")),
    }


@pytest.fixture
def world(db):
    """Three users who follow each other, with tokens and overlapping game lists."""
    madeline, badeline, theo = (make_user(username=n) for n in ("madeline", "badeline", "theo"))
    celeste, moon, hollow = make_game(), make_game(), make_game()
    for person in (madeline, badeline, theo):
        person.played.add(celeste, moon)
        person.liked.add(celeste)
        person.backlog.add(hollow)
        person.wishlist.add(moon, hollow)
        AuthToken.objects.create(user=person)
        AuthToken.objects.create(user=person)
    for follower, followee in [
        (madeline, badeline),
        (badeline, madeline),
        (theo, madeline),
        (badeline, theo),
        (theo, badeline),
    ]:
        follower.follow(followee)
    return {"madeline": madeline, "badeline": badeline, "theo": theo, "celeste": celeste}


def test_game_delete_removes_only_its_list_rows(world):
    celeste_id = world["celeste"].pk
    before = snapshot()

    world["celeste"].delete()

    after = snapshot()
    assert len(list_rows_of(before, game_id=celeste_id)) == 6  # 3 users x played, liked
    assert after["lists"] == before["lists"] - list_rows_of(before, game_id=celeste_id)
    assert after["games"] == {g for g in before["games"] if g[0] != celeste_id}
    assert after["users"] == before["users"]
    assert after["follows"] == before["follows"]
    assert after["tokens"] == before["tokens"]


def test_user_delete_removes_only_their_follows_list_rows_and_tokens(world):
    madeline_id = world["madeline"].pk
    before = snapshot()

    world["madeline"].delete()

    after = snapshot()
    assert set(after["users"]) == set(before["users"]) - {madeline_id}
    assert all(
        after["users"][pk] == row for pk, row in before["users"].items() if pk in after["users"]
    )
    assert after["lists"] == before["lists"] - list_rows_of(before, user_id=madeline_id)
    assert after["follows"] == {f for f in before["follows"] if madeline_id not in f}
    assert after["follows"] == {
        (world["badeline"].pk, world["theo"].pk),
        (world["theo"].pk, world["badeline"].pk),
    }
    assert after["tokens"] == {t for t in before["tokens"] if t[1] != madeline_id}
    assert len(after["tokens"]) == 4
    assert after["games"] == before["games"]


def list_rows_of(state: dict, *, game_id=None, user_id=None) -> set:
    return {
        (name, u, g)
        for name, u, g in state["lists"]
        if (game_id is None or g == game_id) and (user_id is None or u == user_id)
    }


# --- Profile update allow-list -------------------------------------------------------------------

HOSTILE_KEYS = [
    "id",
    "pk",
    "password",
    "is_staff",
    "is_superuser",
    "is_active",
    "last_login",
    "date_joined",
    "groups",
    "user_permissions",
    "following",
    "followers",
    "played",
    "liked",
    "backlog",
    "wishlist",
    "me",
    "followingUser",
    "token",
    "first_name",
    "last_name",
]
json_values = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.sampled_from([1, 2, 3])
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
allowed_values = st.one_of(
    st.none(), st.just(""), st.text(max_size=20), st.sampled_from(["madeline", "x@example.com"])
)
update_bodies = st.fixed_dictionaries(
    {},
    optional={
        **{key: json_values for key in HOSTILE_KEYS},
        **{key: allowed_values for key in PROFILE_ALLOW_LIST},
    },
).flatmap(
    lambda body: st.dictionaries(st.text(max_size=12), json_values, max_size=3).map(
        lambda extra: {**extra, **body}
    )
)


@pytest.fixture
def owner(world):
    """madeline and a client holding her token."""
    madeline = world["madeline"]
    client = APIClient()
    _instance, token = AuthToken.objects.create(user=madeline)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return madeline, client


@pytest.mark.django_db
@settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=update_bodies, as_form=st.booleans())
def test_profile_update_never_touches_a_field_outside_the_allow_list(owner, body, as_form):
    madeline, client = owner
    # Each example starts from the same profile: the property is about one update, and what an
    # earlier example left behind must not decide which route the next one reaches.
    User.objects.filter(pk=madeline.pk).update(
        username="madeline", email="madeline@example.com", bio=None, location=None, twitter=None
    )
    before = snapshot()
    username = "madeline"
    if as_form:
        # A form carries strings only: every value as its JSON text, None as an empty field.
        data = {
            k: "" if v is None else json.dumps(v) if not isinstance(v, str) else v
            for k, v in body.items()
        }
        response = client.post(f"/api/users/profile/{username}", data, format="multipart")
    else:
        response = client.post(f"/api/users/profile/{username}", body, format="json")

    assert response.status_code in (status.HTTP_200_OK, status.HTTP_400_BAD_REQUEST)
    after = snapshot()
    mine_before = before["users"].pop(madeline.pk)
    mine_after = after["users"].pop(madeline.pk)
    assert after == before  # other users, games, lists, follows, tokens
    written = PROFILE_ALLOW_LIST & set(body) if response.status_code == 200 else set()
    assert {k: v for k, v in mine_after.items() if k not in written} == {
        k: v for k, v in mine_before.items() if k not in written
    }


def test_profile_update_of_someone_else_answers_403_and_changes_nothing(owner, world):
    _madeline, client = owner
    before = snapshot()

    response = client.post(
        "/api/users/profile/badeline", {"bio": "hijacked", "is_staff": True}, format="json"
    )

    assert response.status_code == status.HTTP_403_FORBIDDEN
    assert response.json() == {"detail": "You can only update your own profile."}
    assert snapshot() == before
