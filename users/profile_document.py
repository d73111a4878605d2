"""The profile document: `GET /api/users/<username>`'s body, built by the database in one query.

One public function, `profile_document()`. The view sends its bytes as they come, `User.profile`
parses them for the shell, and `users.serializers.ProfileSerializer` only describes the shape
for the OpenAPI schema.

`GET /api/users/<username>` is the API's hot read. Rather than fetch rows and assemble them in
Python (three queries, one Python int per follower, then `json.dumps`), the database builds the
whole document -- the user's columns, the four game lists, `following`, `followers`, and for an
authenticated viewer `me` and `followingUser` -- in one statement (docs/performance.md, "Issue
11"). Both databases write it as compact JSON: no space after `:` or `,`, UTF-8 as such, the
short escapes `\\" \\\\ \\b \\f \\n \\r \\t` and `\\u00XX` for the other control characters,
which is also exactly what `json.dumps(..., separators=(",", ":"), ensure_ascii=False)` writes.
So the same profile is the same bytes (and the same ETag) on PostgreSQL and SQLite
(users/tests/test_profile_document.py).

The SQL is written out once per database below, for reading. Every table and column name in it
comes from the models' metadata; what varies per request (by username or by id, anonymous or
not, the email rule) fills a few named slots. Connections come from `router.db_for_read(User)`
(core.replicas may answer a replica there), never from the bare `django.db.connection`.
"""

import functools
from types import SimpleNamespace

from django.conf import settings
from django.db import connections, router

from core.statements import Statement, execute
from games.models import Game
from users.models import GAME_LISTS, Follow, User

# --- PostgreSQL ---------------------------------------------------------------------------------
# The outer object is written out with concat(): the keys are constants, every value is JSON
# that PostgreSQL writes itself (to_json escapes strings; coalesce(..., 'null') because concat
# drops a NULL). json_build_object would write `{"id" : 1, ...}`, and row_to_json of a subquery
# costs ~0.15 ms more per typical profile (docs/performance.md, "Issue 17"). Lists are
# array_to_json(ARRAY(SELECT ... ORDER BY ...)): an ARRAY subquery keeps its ORDER BY,
# array_to_json writes no spaces, and unlike `json_agg(... ORDER BY ...)` it does not sort again
# what the index already delivers in order (PostgreSQL 15 sorts an aggregate's ORDER BY input
# itself: a million-row sort for a 1M-follower profile). A game is a row of an ordered
# subquery, which array_to_json writes as a compact object keyed by the column aliases;
# PostgreSQL never pulls a subquery with ORDER BY up into its parent, so the rows keep that
# order.

_PG_GAME_LIST = """array_to_json(ARRAY(
        SELECT game FROM (
            SELECT g.{game.id} AS id, g.{game.igdb} AS igdb, g.{game.name} AS name
            FROM {t} t JOIN {game} g ON g.{game.id} = t.{t.game}
            WHERE t.{t.user} = u.{user.id} ORDER BY t.{t.id}
        ) game
    ))"""

_PG_IDS = """array_to_json(ARRAY(
        SELECT f.{item} FROM {follow} f WHERE f.{owner} = u.{user.id} ORDER BY f.{follow.id}
    ))"""

_PG_PROFILE = """
SELECT concat(
    '{{"id":', u.{user.id},
    ',"username":', to_json(u.{user.username}),
    ',"email":', coalesce(to_json({email}), 'null'),
    ',"bio":', coalesce(to_json(u.{user.bio}), 'null'),
    ',"location":', coalesce(to_json(u.{user.location}), 'null'),
    ',"twitter":', coalesce(to_json(u.{user.twitter}), 'null'),
    ',"played":', {played},
    ',"liked":', {liked},
    ',"backlog":', {backlog},
    ',"wishlist":', {wishlist},
    ',"following":', {following},
    ',"followers":', {followers}{viewer},
    '}}'
)
FROM {user} u{viewer_join}
WHERE {where}
"""

_PG_VIEWER = """,
    ',"me":', concat(
        '{{"id":', coalesce(to_json(v.{user.id}), 'null'),
        ',"username":', coalesce(to_json(v.{user.username}), 'null'),
        ',"email":', coalesce(to_json(v.{user.email}), 'null'),
        '}}'
    ),
    ',"followingUser":', to_json(EXISTS (
        SELECT 1 FROM {follow} f
        WHERE f.{follow.follower} = v.{user.id} AND f.{follow.followee} = u.{user.id}
    ))"""

# --- SQLite -------------------------------------------------------------------------------------
# json_object and json_group_array, compact already. A scalar subquery loses SQLite's JSON
# subtype, so its result would be embedded as a string: json(...) marks it as JSON again. The
# lists aggregate an ordered subquery; SQLite never flattens a subquery with ORDER BY into an
# aggregate query (its query flattener's rule 16), so the rows reach json_group_array in order.

_SQLITE_GAME_LIST = """json((
        SELECT json_group_array(json_object('id', s.id, 'igdb', s.igdb, 'name', s.name))
        FROM (SELECT g.{game.id} AS id, g.{game.igdb} AS igdb, g.{game.name} AS name
              FROM {t} t JOIN {game} g ON g.{game.id} = t.{t.game}
              WHERE t.{t.user} = u.{user.id} ORDER BY t.{t.id}) s
    ))"""

_SQLITE_IDS = """json((
        SELECT json_group_array(s.item)
        FROM (SELECT f.{item} AS item FROM {follow} f
              WHERE f.{owner} = u.{user.id} ORDER BY f.{follow.id}) s
    ))"""

_SQLITE_PROFILE = """
SELECT json_object(
    'id', u.{user.id},
    'username', u.{user.username},
    'email', {email},
    'bio', u.{user.bio},
    'location', u.{user.location},
    'twitter', u.{user.twitter},
    'played', {played},
    'liked', {liked},
    'backlog', {backlog},
    'wishlist', {wishlist},
    'following', {following},
    'followers', {followers}{viewer}
)
FROM {user} u{viewer_join}
WHERE {where}
"""

_SQLITE_VIEWER = """,
    'me', json_object('id', v.{user.id}, 'username', v.{user.username}, 'email', v.{user.email}),
    'followingUser', json(CASE WHEN EXISTS (
        SELECT 1 FROM {follow} f
        WHERE f.{follow.follower} = v.{user.id} AND f.{follow.followee} = u.{user.id}
    ) THEN 'true' ELSE 'false' END)"""

_TEMPLATES = {
    # vendor: (document, game list, id list, viewer keys)
    "postgresql": (_PG_PROFILE, _PG_GAME_LIST, _PG_IDS, _PG_VIEWER),
    "sqlite": (_SQLITE_PROFILE, _SQLITE_GAME_LIST, _SQLITE_IDS, _SQLITE_VIEWER),
}

# Shared by both databases. The username lookup is the one the unique LOWER(username) index
# serves, the same as UserQuerySet.by_username.
_WHERE = {
    "username": "lower(u.{user.username}) = lower(%(username)s)",
    "id": "u.{user.id} = %(user_id)s",
}
# OVERWORLD_PROFILE_EMAIL: "public", or "owner": NULL for anyone but the owner, anonymous
# readers included (their viewer id is NULL).
_EMAIL = {
    "public": "u.{user.email}",
    "owner": "CASE WHEN u.{user.id} = %(viewer_id)s THEN u.{user.email} END",
}


# What each slot holds, for PostgreSQL's PREPARE (core.statements).
_PARAMETER_TYPES = {"username": "text", "user_id": "bigint", "viewer_id": "bigint"}


def _quote(name: str) -> str:
    # Both databases quote identifiers alike (connection.ops.quote_name).
    return f'"{name}"'


class _Names(SimpleNamespace):
    """A table's quoted name (what `{user}` writes) and its quoted columns (`{user.email}`)."""

    def __str__(self) -> str:
        return self.table


def _names(model, *fields: str) -> _Names:
    return _Names(
        table=_quote(model._meta.db_table),
        **{field: _quote(model._meta.get_field(field).column) for field in fields},
    )


def _game_list(list_name: str) -> _Names:
    """The table behind one of the four game lists, with its id, user (owner) and game."""
    through = getattr(User, list_name).through._meta
    column = {f.related_model: f.column for f in through.concrete_fields if f.is_relation}
    return _Names(
        table=_quote(through.db_table),
        id=_quote(through.pk.column),
        user=_quote(column[User]),
        game=_quote(column[Game]),
    )


@functools.cache
def _statement(vendor: str, *, by: str, authenticated: bool, email: str) -> Statement:
    """The one statement that builds a profile document on `vendor`'s database.

    by: "username" or "id"; authenticated: adds `me` and `followingUser` for the viewer;
    email: "public" or "owner" (OVERWORLD_PROFILE_EMAIL).
    """
    document, game_list, ids, viewer = _TEMPLATES[vendor]
    names = {
        "user": _names(User, "id", "username", "email", "bio", "location", "twitter"),
        "follow": _names(Follow, "id", "follower", "followee"),
        "game": _names(Game, "id", "igdb", "name"),
    }
    follow = names["follow"]
    sql = document.format(
        email=_EMAIL[email].format(**names),
        **{name: game_list.format(t=_game_list(name), **names) for name in GAME_LISTS},
        following=ids.format(item=follow.followee, owner=follow.follower, **names),
        followers=ids.format(item=follow.follower, owner=follow.followee, **names),
        viewer=viewer.format(**names) if authenticated else "",
        viewer_join=(
            " LEFT JOIN {user} v ON v.{user.id} = %(viewer_id)s".format(**names)
            if authenticated
            else ""
        ),
        where=_WHERE[by].format(**names),
        **names,
    )
    return Statement(sql, {k: t for k, t in _PARAMETER_TYPES.items() if f"%({k})s" in sql})


def profile_document(
    *, username: str | None = None, user_id: int | None = None, viewer=None
) -> bytes | None:
    """The profile of the user named `username` (case ignored) or of `user_id`, as JSON bytes.

    Exactly the twelve keys of the contract, in order; when `viewer` (the request's user) is
    authenticated, `me` and `followingUser` follow. None when there is no such user.
    """
    by = "username" if username is not None else "id"
    authenticated = viewer is not None and viewer.is_authenticated
    connection = connections[router.db_for_read(User)]
    statement = _statement(
        connection.vendor,
        by=by,
        authenticated=authenticated,
        email=settings.OVERWORLD_PROFILE_EMAIL,
    )
    params = {
        "username": username,
        "user_id": user_id,
        "viewer_id": viewer.pk if authenticated else None,
    }
    with connection.cursor() as cursor:
        execute(cursor, statement, params)
        row = cursor.fetchone()
    return None if row is None else row[0].encode()
