"""users.profile_document against the Python implementation it replaced, on whichever database
runs.

`legacy_profile` below is the previous ProfileSerializer.to_representation (rows from the
database, the document assembled in Python), kept here verbatim as the reference: the document
the database builds must parse to exactly what it produced -- the same keys in the same order,
ints as ints, booleans as booleans, null as null, lists in the same order, the same strings --
and be, byte for byte, that reference written as compact JSON (`compact` below). Both databases
are held to the same bytes, so a profile is the same body and ETag on either.
"""

import json

import pytest
from django.db import connection
from rest_framework.renderers import JSONRenderer

from games.tests.factories import make_game
from users.models import GAME_LISTS, Follow, User
from users.profile_document import _statement, profile_document
from users.tests.factories import make_user

# Strings a hand-built JSON document could get wrong.
AWKWARD = [
    'He said "hi"',
    "back\\slash \\n not a newline \\u0041",
    "line\nbreak\ttab\r\x01\x1f",
    "Pokémon Moon · Zürich · 東京 · 🎮",
    "line\u2028separator\u2029paragraph",
    "</script><script>alert(1)</script>",
    "'single' & <angle> %s %(name)s {braces}",
    " ",
]


def legacy_profile(user: User, viewer: User | None) -> dict:
    """The profile as ProfileSerializer built it before users.profile_document (3 queries)."""
    profile_lists = (*GAME_LISTS, "following")
    lists = {name: [] for name in profile_lists}
    following = lists["following"]
    for position, _, item_id, igdb, name in _legacy_rows(user.pk):
        if position == len(GAME_LISTS):
            following.append(item_id)
        else:
            lists[GAME_LISTS[position]].append({"id": item_id, "igdb": igdb, "name": name})
    followers = list(
        Follow.objects.filter(followee_id=user.pk)
        .order_by("pk")
        .values_list("follower_id", flat=True)
    )
    data = {
        "id": user.pk,
        "username": user.username,
        "email": user.email,
        "bio": user.bio,
        "location": user.location,
        "twitter": user.twitter,
        **lists,
        "followers": followers,
    }
    if viewer is not None:
        data["me"] = {"id": viewer.pk, "username": viewer.username, "email": viewer.email}
        data["followingUser"] = viewer.pk in followers
    return data


def _legacy_rows(user_id: int) -> list[tuple]:
    quote = connection.ops.quote_name
    parts = []
    for position, list_name in enumerate(GAME_LISTS):
        through = User._meta.get_field(list_name).remote_field.through._meta
        parts.append(
            f"SELECT {position}, t.id, g.id, g.igdb, g.name"
            f" FROM {quote(through.db_table)} t INNER JOIN games_game g ON g.id = t.game_id"
            f" WHERE t.user_id = %s"
        )
    parts.append(
        f"SELECT {len(GAME_LISTS)}, id, followee_id, NULL, NULL FROM users_follow"
        " WHERE follower_id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 1, 2", [user_id] * 5)
        return cursor.fetchall()


def strict(value) -> str:
    """A canonical text of a JSON value that tells 1 from true and keeps key order."""
    return json.dumps(value, ensure_ascii=False)


def compact(value) -> bytes:
    """The bytes both databases write for a document: no spaces, UTF-8, the short escapes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def assert_same_document(user: User, viewer: User | None) -> bytes:
    user.refresh_from_db()
    document = profile_document(username=user.username, viewer=viewer)
    expected = legacy_profile(user, viewer)
    parsed = json.loads(document)
    assert strict(parsed) == strict(expected)
    # And the same as the bytes DRF's renderer used to send, once both are parsed.
    assert strict(json.loads(JSONRenderer().render(expected))) == strict(parsed)
    # Byte for byte, on PostgreSQL as on SQLite.
    assert document == compact(expected)
    return document


@pytest.fixture
def awkward_user(db):
    user = make_user(
        username="zoë.o_é",
        email="zoe@example.com",
        bio='"quoted" \\ and\nnewline 🎮',
        location="Zürich \u2028",
        twitter='a\\b"c',
    )
    games = [make_game(igdb=f'30-{n}\\"', name=text) for n, text in enumerate(AWKWARD)]
    # Added out of id order: a list keeps the order of addition, not of ids.
    user.played.add(games[3])
    user.played.add(games[0])
    user.played.add(games[5])
    # One at a time: a single add(*games) inserts from a set, in no particular order.
    for game in games:
        user.liked.add(game)
    user.wishlist.add(games[7])
    return user


def test_profile_document_new_user_same_as_legacy(user, other_user):
    assert_same_document(user, None)
    assert_same_document(user, other_user)
    assert_same_document(user, user)


def test_profile_document_empty_lists_are_arrays_and_unset_fields_null(user):
    document = json.loads(profile_document(username="madeline"))

    for name in (*GAME_LISTS, "following", "followers"):
        assert document[name] == []
    assert document["bio"] is None and document["twitter"] is None


def test_profile_document_awkward_strings_same_as_legacy(awkward_user, other_user):
    document = assert_same_document(awkward_user, None)
    assert_same_document(awkward_user, other_user)

    parsed = json.loads(document)
    assert [game["name"] for game in parsed["liked"]] == AWKWARD
    assert parsed["bio"] == '"quoted" \\ and\nnewline 🎮'
    # UTF-8 as such, not \u escapes and not mojibake.
    assert "Zürich".encode() in document


def test_profile_document_lists_and_follows_in_order_of_addition(user, other_user):
    others = [make_user() for _ in range(6)]
    for other in reversed(others):
        user.follow(other)
    for other in (others[2], others[0], others[5], other_user):
        other.follow(user)
    games = [make_game() for _ in range(5)]
    for game in reversed(games):
        user.backlog.add(game)

    parsed = json.loads(assert_same_document(user, other_user))

    assert parsed["following"] == [other.pk for other in reversed(others)]
    assert parsed["followers"] == [others[2].pk, others[0].pk, others[5].pk, other_user.pk]
    assert parsed["followingUser"] is True
    assert [game["id"] for game in parsed["backlog"]] == [game.pk for game in reversed(games)]


def test_profile_document_ids_are_ints_and_following_user_a_boolean(user, other_user):
    other_user.follow(user)
    user.follow(other_user)

    parsed = json.loads(assert_same_document(user, other_user))

    assert type(parsed["id"]) is int
    assert type(parsed["followers"][0]) is int and type(parsed["following"][0]) is int
    assert parsed["followingUser"] is True
    assert list(parsed)[-2:] == ["me", "followingUser"]
    assert parsed["me"] == {"id": other_user.pk, "username": "badeline", "email": other_user.email}


def test_profile_document_many_rows_same_as_legacy(user, other_user):
    games = [make_game() for _ in range(30)]
    for name in GAME_LISTS:
        getattr(user, name).add(*games)
    crowd = User.objects.bulk_create(
        User(username=f"crowd{n}", email=f"crowd{n}@example.com") for n in range(120)
    )
    Follow.objects.bulk_create(
        [Follow(follower=user, followee=other) for other in crowd[:60]]
        + [Follow(follower=other, followee=user) for other in crowd[60:]]
    )

    assert_same_document(user, None)
    assert_same_document(user, crowd[70])


def test_profile_document_lookup_by_id_same_as_by_username(awkward_user, other_user):
    by_id = profile_document(user_id=awkward_user.pk, viewer=other_user)
    # ASCII letters in another case: SQLite's lower() folds only those (as the unique index does).
    by_name = profile_document(username="ZOë.O_é", viewer=other_user)

    assert by_id == by_name


@pytest.mark.django_db
def test_profile_document_unknown_user_is_none():
    assert profile_document(username="nobody") is None
    assert profile_document(user_id=0) is None


def test_profile_document_api_body_is_the_document(api_client, auth_client, awkward_user, user):
    anonymous = api_client.get(f"/api/users/{awkward_user.username}")
    authenticated = auth_client.get(f"/api/users/{awkward_user.username}")

    assert anonymous.content == profile_document(username=awkward_user.username)
    assert authenticated.content == profile_document(username=awkward_user.username, viewer=user)
    assert anonymous["Content-Type"] == "application/json"


def test_profile_document_connection_comes_from_the_router(user, monkeypatch):
    # Issue 9's replica router decides through router.db_for_read: the read must ask it.
    from users import profile_document as module

    asked = []

    def db_for_read(model, **hints):
        asked.append(model)
        return "default"

    monkeypatch.setattr(module.router, "db_for_read", db_for_read)

    assert profile_document(username="madeline") is not None
    assert asked == [User]


@pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])
def test_profile_document_sql_has_one_statement_per_variant(vendor):
    # Every variant is one SELECT with named parameters only (no stray % for the drivers).
    for by in ("username", "id"):
        for authenticated in (False, True):
            for email in ("public", "owner"):
                sql = _statement(vendor, by=by, authenticated=authenticated, email=email).sql
                assert sql.strip().startswith("SELECT") and ";" not in sql
                stripped = sql.replace("%(username)s", "").replace("%(user_id)s", "")
                assert "%" not in stripped.replace("%(viewer_id)s", "")
                # The key `me`: json_object's 'me' (SQLite), ',"me":' in concat (PostgreSQL).
                assert ("'me'" in sql or ""","me":""" in sql) is authenticated


def test_profile_document_is_what_the_shell_gets(user, other_user):
    # ProfileSerializer used to hand Python callers the document; User.profile does now, and
    # the serializer only describes the shape (below).
    other_user.follow(user)

    assert strict(user.profile(viewer=other_user)) == strict(legacy_profile(user, other_user))
    assert strict(user.profile()) == strict(legacy_profile(user, None))


def test_profile_document_serializer_describes_the_same_keys(user, other_user):
    from users.serializers import ProfileSerializer

    assert list(ProfileSerializer().fields) == list(legacy_profile(user, other_user))


def test_profile_document_tables_and_columns_come_from_the_models(monkeypatch):
    # Renaming a table (db_table) renames it in the statement: no name is written in by hand.
    from users import profile_document as module

    monkeypatch.setattr(Follow._meta, "db_table", "renamed_follow")
    monkeypatch.setattr(User.played.through._meta, "db_table", "renamed_played")
    module._statement.cache_clear()
    try:
        for vendor in ("postgresql", "sqlite"):
            sql = module._statement(vendor, by="id", authenticated=True, email="owner").sql
            assert '"renamed_follow"' in sql and '"renamed_played"' in sql
            assert "users_follow" not in sql and "users_user_played" not in sql
    finally:
        module._statement.cache_clear()


def test_profile_document_same_bytes_anonymous_and_for_a_viewer(awkward_user, other_user):
    other_user.follow(awkward_user)

    for viewer in (None, other_user, awkward_user):
        document = profile_document(user_id=awkward_user.pk, viewer=viewer)
        # PostgreSQL's json_build_object would write `"id" : 1`; compact JSON is `"id":1`.
        assert document == compact(json.loads(document))
        assert document.startswith(b'{"id":%d,"username":' % awkward_user.pk)
