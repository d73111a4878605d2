"""Profiles answer conditional GETs (ETag, If-None-Match, 304) and are gzipped when accepted."""

import gzip
import re

import pytest
from rest_framework import status

from games.tests.factories import make_game
from users.tests.factories import make_user

STRONG_ETAG = re.compile(r'"[0-9a-f]{64}"')


def etag_of(client, path="/api/users/madeline") -> str:
    response = client.get(path)
    assert response.status_code == status.HTTP_200_OK
    return response["ETag"]


def vary(response) -> set[str]:
    return {value.strip().lower() for value in response.get("Vary", "").split(",")}


def test_profile_caching_strong_etag_varying_with_authorization(api_client, user):
    response = api_client.get("/api/users/madeline")

    assert STRONG_ETAG.fullmatch(response["ETag"])
    assert "authorization" in vary(response)


def test_profile_caching_if_none_match_current_answers_304_without_body(api_client, user):
    etag = etag_of(api_client)

    response = api_client.get("/api/users/madeline", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == status.HTTP_304_NOT_MODIFIED
    assert response.content == b""
    assert response["ETag"] == etag
    assert "authorization" in vary(response)


def test_profile_caching_if_none_match_on_profile_route_answers_304(api_client, user):
    etag = etag_of(api_client, "/api/users/profile/madeline")

    response = api_client.get("/api/users/profile/MADELINE/", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == status.HTTP_304_NOT_MODIFIED


def test_profile_caching_if_none_match_stale_answers_200(api_client, user):
    response = api_client.get("/api/users/madeline", HTTP_IF_NONE_MATCH='"0000", "1111"')

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["username"] == "madeline"


def test_profile_caching_same_data_same_etag(api_client, user):
    assert etag_of(api_client) == etag_of(api_client)


def test_profile_caching_etag_differs_per_caller(api_client, auth_client, user, other_user):
    from knox.models import AuthToken

    anonymous = etag_of(api_client, "/api/users/badeline")
    as_madeline = etag_of(auth_client, "/api/users/badeline")
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=make_user())[1]}"
    )
    as_someone_else = etag_of(api_client, "/api/users/badeline")

    assert len({anonymous, as_madeline, as_someone_else}) == 3


def test_profile_caching_another_callers_etag_is_not_a_match(api_client, auth_client, user):
    anonymous = etag_of(api_client)

    response = auth_client.get("/api/users/madeline", HTTP_IF_NONE_MATCH=anonymous)

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["me"]["username"] == "madeline"


@pytest.fixture
def celeste(user):
    game = make_game(igdb="26226", name="Celeste")
    user.played.add(game)
    return game


def update_bio(client, user, other_user, game):
    response = client.post("/api/users/profile/madeline", {"bio": "Climbing"}, format="json")
    assert response.status_code == status.HTTP_200_OK


def follow_someone(client, user, other_user, game):
    response = client.post("/api/users/follow/", {"username": "badeline"}, format="json")
    assert response.status_code == status.HTTP_200_OK


def followed_by_someone(client, user, other_user, game):
    make_user().follow(user)


def unfollowed_by_someone(client, user, other_user, game):
    other_user.unfollow(user)


def add_a_game(client, user, other_user, game):
    user.wishlist.add(make_game())


def remove_a_game(client, user, other_user, game):
    user.played.remove(game)


def rename_a_game_on_a_list(client, user, other_user, game):
    game.name = "Celeste Classic"
    game.save(update_fields=["name"])


@pytest.mark.parametrize(
    "change",
    [
        update_bio,
        follow_someone,
        followed_by_someone,
        unfollowed_by_someone,
        add_a_game,
        remove_a_game,
        rename_a_game_on_a_list,
    ],
)
def test_profile_caching_any_change_gives_a_new_etag(
    auth_client, api_client, user, other_user, celeste, change
):
    other_user.follow(user)  # so that unfollowing changes something
    for client in (api_client, auth_client):
        client.before = etag_of(client)

    change(auth_client, user, other_user, celeste)

    for client in (api_client, auth_client):
        response = client.get("/api/users/madeline", HTTP_IF_NONE_MATCH=client.before)
        assert response.status_code == status.HTTP_200_OK
        assert response["ETag"] != client.before


def test_profile_caching_caller_following_changes_the_etag(auth_client, user, other_user):
    before = etag_of(auth_client, "/api/users/badeline")

    auth_client.post("/api/users/follow/", {"username": "badeline"}, format="json")
    response = auth_client.get("/api/users/badeline", HTTP_IF_NONE_MATCH=before)

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["followingUser"] is True


def test_profile_caching_unknown_user_still_404(api_client, db):
    response = api_client.get("/api/users/nobody", HTTP_IF_NONE_MATCH="*")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response.json() == {"detail": "Not found."}


def test_profile_caching_update_answer_ignores_if_none_match(auth_client, user):
    etag = etag_of(auth_client)

    # A POST is never answered 304 (nor 412): the update is applied and the profile answered.
    response = auth_client.post(
        "/api/users/profile/madeline",
        {"location": "Mountain"},
        format="json",
        HTTP_IF_NONE_MATCH=etag,
    )

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["location"] == "Mountain"
    assert response["ETag"] != etag


@pytest.fixture
def big_profile(user, celeste):
    for n in range(40):
        user.liked.add(make_game(name=f"A game with a long enough name, number {n}"))
    return user


def test_profile_caching_gzip_when_accepted(api_client, big_profile):
    plain = api_client.get("/api/users/madeline")

    response = api_client.get("/api/users/madeline", HTTP_ACCEPT_ENCODING="gzip, deflate, br")

    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Encoding"] == "gzip"
    assert response["Content-Type"] == "application/json"
    assert gzip.decompress(response.content) == plain.content
    assert len(response.content) < len(plain.content) / 3
    assert {"accept-encoding", "authorization"} <= vary(response)


def test_profile_caching_not_compressed_unless_accepted(api_client, big_profile):
    response = api_client.get("/api/users/madeline")

    assert not response.has_header("Content-Encoding")
    assert "accept-encoding" in vary(response)


def test_profile_caching_gzipped_etag_answers_304(api_client, big_profile):
    compressed = api_client.get("/api/users/madeline", HTTP_ACCEPT_ENCODING="gzip")
    # A compressed body is another representation: its ETag is marked weak.
    assert compressed["ETag"].startswith('W/"')

    for encoding in ("gzip", ""):
        response = api_client.get(
            "/api/users/madeline",
            HTTP_IF_NONE_MATCH=compressed["ETag"],
            HTTP_ACCEPT_ENCODING=encoding,
        )
        assert response.status_code == status.HTTP_304_NOT_MODIFIED
        assert response.content == b""


def test_profile_caching_304_carries_the_tag_its_200_would(api_client, big_profile):
    compressed = api_client.get("/api/users/madeline", HTTP_ACCEPT_ENCODING="gzip")
    plain = api_client.get("/api/users/madeline")

    for encoding, expected in (("gzip", compressed["ETag"]), ("", plain["ETag"])):
        response = api_client.get(
            "/api/users/madeline",
            HTTP_IF_NONE_MATCH=plain["ETag"],
            HTTP_ACCEPT_ENCODING=encoding,
        )
        assert response.status_code == status.HTTP_304_NOT_MODIFIED
        assert response["ETag"] == expected


@pytest.mark.parametrize("encoding", ["gzip;q=0", "identity, gzip;q=0", "gzip; q=0.0", "gzip;q=x"])
def test_profile_caching_gzip_refused_with_q_zero(api_client, big_profile, encoding):
    response = api_client.get("/api/users/madeline", HTTP_ACCEPT_ENCODING=encoding)

    assert response.status_code == status.HTTP_200_OK
    assert not response.has_header("Content-Encoding")
    assert response.json()["username"] == "madeline"


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_IF_UNMODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT"},
        {"HTTP_IF_MATCH": '"nope"'},
        {"HTTP_IF_MODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT"},
    ],
    ids=["if-unmodified-since", "if-match", "if-modified-since"],
)
def test_profile_caching_other_preconditions_are_ignored(api_client, user, header):
    # A profile has no modification date and the only validator clients send back is the ETag:
    # these answer the profile, never an empty 412.
    response = api_client.get("/api/users/madeline", **header)

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["username"] == "madeline"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/users/register/", {"username": "theo", "email": "theo@example.com",
                                  "password": "selfie-summit-42"}),
        ("/api/users/login/", {"username": "madeline", "password": "correct-horse-battery"}),
    ],
)  # fmt: skip
def test_profile_caching_token_answers_never_compressed(api_client, user, path, body):
    response = api_client.post(path, body, format="json", HTTP_ACCEPT_ENCODING="gzip")

    assert response.status_code == status.HTTP_200_OK
    assert not response.has_header("Content-Encoding")
    assert "token" in response.json()


def test_profile_caching_head_answers_the_etag_without_body(api_client, user):
    etag = etag_of(api_client)

    response = api_client.head("/api/users/madeline")
    revalidated = api_client.head("/api/users/madeline", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == status.HTTP_200_OK
    assert response["ETag"] == etag
    assert response.content == b""
    assert revalidated.status_code == status.HTTP_304_NOT_MODIFIED
