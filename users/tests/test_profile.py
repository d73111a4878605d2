import pytest
from rest_framework import status
from rest_framework.test import APIClient

from games.tests.factories import make_game
from users.models import Follow, User
from users.tests.factories import make_user

PROFILE_KEYS = [
    "id",
    "username",
    "email",
    "bio",
    "location",
    "twitter",
    "played",
    "liked",
    "backlog",
    "wishlist",
    "following",
    "followers",
]


def game_json(game):
    return {"id": game.pk, "igdb": game.igdb, "name": game.name}


def test_profile_keys_in_contract_order(api_client, user):
    response = api_client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_200_OK
    assert list(response.json().keys()) == PROFILE_KEYS


def test_profile_new_user_body(api_client, user):
    response = api_client.get("/api/users/madeline")

    assert response.json() == {
        "id": user.pk,
        "username": "madeline",
        "email": "madeline@example.com",
        "bio": None,
        "location": None,
        "twitter": None,
        "played": [],
        "liked": [],
        "backlog": [],
        "wishlist": [],
        "following": [],
        "followers": [],
    }


def test_profile_trailing_slash_optional(api_client, user):
    without_slash = api_client.get("/api/users/madeline")
    with_slash = api_client.get("/api/users/madeline/")

    assert with_slash.status_code == status.HTTP_200_OK
    assert with_slash.json() == without_slash.json()


def test_profile_under_profile_route_same_as_plain_route(api_client, user):
    plain = api_client.get("/api/users/madeline")
    under_profile = api_client.get("/api/users/profile/madeline")

    assert under_profile.status_code == status.HTTP_200_OK
    assert under_profile.json() == plain.json()


def test_profile_under_profile_route_with_trailing_slash(api_client, user):
    response = api_client.get("/api/users/profile/madeline/")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["id"] == user.pk


@pytest.mark.parametrize("path", ["MADELINE", "Madeline", "profile/MADELINE"])
def test_profile_lookup_ignores_case(api_client, user, path):
    response = api_client.get(f"/api/users/{path}")

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["id"] == user.pk
    assert response.json()["username"] == "madeline"


def test_profile_anonymous_gets_exactly_twelve_keys(api_client, user, other_user):
    other_user.follow(user)

    response = api_client.get("/api/users/madeline")

    assert len(response.json()) == 12
    assert "me" not in response.json()
    assert "followingUser" not in response.json()


def test_profile_authenticated_adds_me_and_following_user(auth_client, user, other_user):
    response = auth_client.get("/api/users/badeline")

    body = response.json()
    assert list(body) == [*PROFILE_KEYS, "me", "followingUser"]
    assert body["me"] == {"id": user.pk, "username": "madeline", "email": "madeline@example.com"}
    assert body["followingUser"] is False


def test_profile_following_user_true_when_caller_follows(auth_client, user, other_user):
    user.follow(other_user)

    response = auth_client.get("/api/users/badeline")

    assert response.json()["followingUser"] is True


def test_profile_following_user_false_when_only_followed_back(auth_client, user, other_user):
    other_user.follow(user)

    response = auth_client.get("/api/users/badeline")

    assert response.json()["followingUser"] is False


def test_profile_own_profile_is_not_following_self(auth_client, user):
    response = auth_client.get("/api/users/madeline")

    assert response.json()["me"]["id"] == user.pk
    assert response.json()["followingUser"] is False


def test_profile_games_in_order_of_addition(api_client, user):
    zelda = make_game(igdb="1025", name="Zelda")
    astro = make_game(igdb="2001", name="Astro Bot")
    metroid = make_game(igdb="3003", name="Metroid")
    for game in (zelda, astro, metroid):
        user.played.add(game)
    for game in (metroid, zelda):
        user.wishlist.add(game)

    body = api_client.get("/api/users/madeline").json()

    assert body["played"] == [game_json(zelda), game_json(astro), game_json(metroid)]
    assert body["wishlist"] == [game_json(metroid), game_json(zelda)]
    assert body["liked"] == []
    assert body["backlog"] == []


def test_profile_game_is_id_igdb_name(api_client, user):
    game = make_game(igdb="3030-68907", name="Sekiro: Shadows Die Twice")
    user.liked.add(game)

    body = api_client.get("/api/users/madeline").json()

    assert body["liked"] == [
        {"id": game.pk, "igdb": "3030-68907", "name": "Sekiro: Shadows Die Twice"}
    ]


def test_profile_following_and_followers_are_ids(api_client, user, other_user):
    third = make_user(username="theo")
    user.follow(third)
    user.follow(other_user)
    other_user.follow(user)

    body = api_client.get("/api/users/madeline").json()

    assert body["following"] == [third.pk, other_user.pk]
    assert body["followers"] == [other_user.pk]


def test_profile_followers_reverse_of_following(api_client, user, other_user):
    user.follow(other_user)

    body = api_client.get("/api/users/badeline").json()

    assert body["followers"] == [user.pk]
    assert body["following"] == []


def test_profile_same_data_gives_same_json(api_client, user, other_user):
    for _ in range(5):
        user.backlog.add(make_game())
        make_user().follow(user)

    first = api_client.get("/api/users/madeline").content
    second = api_client.get("/api/users/madeline").content

    assert first == second


def test_profile_matches_api_document_example(api_client, other_user):
    madeline = make_user(
        username="madeline", email="example@mail.com", bio="I like games", location="A Mountain"
    )
    pokemon = make_game(igdb="18099", name="Pokémon Moon")
    sekiro = make_game(igdb="3030-68907", name="Sekiro: Shadows Die Twice")
    celeste = make_game(igdb="26226", name="Celeste")
    god_of_war = make_game(igdb="19560", name="God of War")
    cyberpunk = make_game(igdb="1877", name="Cyberpunk 2077")
    madeline.played.add(pokemon)
    madeline.played.add(sekiro)
    madeline.liked.add(celeste)
    madeline.backlog.add(god_of_war)
    madeline.wishlist.add(cyberpunk)
    madeline.follow(other_user)

    response = api_client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == {
        "id": madeline.pk,
        "username": "madeline",
        "email": "example@mail.com",
        "bio": "I like games",
        "location": "A Mountain",
        "twitter": None,
        "played": [
            {"id": pokemon.pk, "igdb": "18099", "name": "Pokémon Moon"},
            {"id": sekiro.pk, "igdb": "3030-68907", "name": "Sekiro: Shadows Die Twice"},
        ],
        "liked": [{"id": celeste.pk, "igdb": "26226", "name": "Celeste"}],
        "backlog": [{"id": god_of_war.pk, "igdb": "19560", "name": "God of War"}],
        "wishlist": [{"id": cyberpunk.pk, "igdb": "1877", "name": "Cyberpunk 2077"}],
        "following": [other_user.pk],
        "followers": [],
    }


@pytest.fixture
def busy_user(user):
    """`user` with 60 games in each list, following 80 users and followed by 80 others."""
    games = [make_game() for _ in range(60)]
    for list_name in ("played", "liked", "backlog", "wishlist"):
        getattr(user, list_name).add(*games)
    others = User.objects.bulk_create(
        User(username=f"crowd{n}", email=f"crowd{n}@example.com") for n in range(160)
    )
    Follow.objects.bulk_create(
        [Follow(follower=user, followee=other) for other in others[:80]]
        + [Follow(follower=other, followee=user) for other in others[80:]]
    )
    return user


def test_profile_anonymous_query_count_constant(
    api_client, busy_user, django_assert_max_num_queries
):
    with django_assert_max_num_queries(1):
        response = api_client.get("/api/users/madeline")

    body = response.json()
    assert [len(body[name]) for name in PROFILE_KEYS[6:]] == [60, 60, 60, 60, 80, 80]


def test_profile_authenticated_query_count_constant(
    auth_client, busy_user, django_assert_max_num_queries
):
    with django_assert_max_num_queries(2):
        response = auth_client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_200_OK
    assert len(response.json()["followers"]) == 80


@pytest.mark.django_db
def test_profile_unknown_user_not_found(api_client):
    response = api_client.get("/api/users/nobody")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_profile_unknown_user_under_profile_route_not_found(api_client):
    response = api_client.get("/api/users/profile/nobody")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/made%00line",
        "/api/users/%00",
        "/api/users/profile/made%00line",
        "/api/users/" + "a" * 151,
        "/api/users/bad%20name",
        "/api/users/x/y",
        "/api/users/madeline/extra",
        "/api/users/",
        "/api/users",
    ],
)
def test_profile_unmatched_path_not_found_json(api_client, user, path):
    response = api_client.get(path)

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


def test_profile_post_to_plain_route_not_allowed(auth_client, user):
    response = auth_client.post("/api/users/madeline", {"bio": "hi"}, format="json")

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, HEAD, OPTIONS"
    assert response.json() == {"detail": 'Method "POST" not allowed.'}
    user.refresh_from_db()
    assert user.bio is None


def test_profile_put_to_profile_route_not_allowed(auth_client, user):
    response = auth_client.put("/api/users/profile/madeline", {"bio": "hi"}, format="json")

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response["Allow"] == "GET, POST, HEAD, OPTIONS"
    user.refresh_from_db()
    assert user.bio is None


def test_profile_disallowed_host_bad_request_json(user):
    client = APIClient(SERVER_NAME="evil.example")

    response = client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"detail": "Bad request."}
