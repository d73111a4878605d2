"""The profile document, built by the database in one query and handed back as JSON bytes.

`GET /api/users/<username>` is the API's hot read. Rather than fetch rows and assemble them in
Python (three queries, one Python int per follower, then `json.dumps`), the database builds the
whole document -- the user's columns, the four game lists, `following`, `followers`, and for an
authenticated caller `me` and `followingUser` -- and the view sends its bytes as they come
(docs/performance.md, "Issue 11"). The keys, their order and every value are those of
`users.serializers.ProfileSerializer`, the documented shape; users/tests/test_selectors.py holds
both databases' output against the previous Python implementation.

The SQL is written out once per database below, for reading; what varies per request (by
username or by id, anonymous or not, the email rule) fills a few named slots.

Connections come from `router.db_for_read(User)` (issue 9's router may answer a replica there),
never from the bare `django.db.connection`.
"""

import functools

from django.conf import settings
from django.db import connections, router

from users.models import GAME_LISTS, User

EMAIL_PUBLIC = "public"
EMAIL_OWNER = "owner"

# --- PostgreSQL ---------------------------------------------------------------------------------
# json (not jsonb: jsonb reorders keys), cast to text so that psycopg2 hands over the string
# instead of parsing it. Lists are array_to_json(ARRAY(SELECT ... ORDER BY ...)): an ARRAY
# subquery keeps its ORDER BY, array_to_json writes no spaces (json_agg writes ", " between
# elements: +1 MB on a 1M-follower profile), and unlike `json_agg(... ORDER BY ...)` it does not
# sort again what the index already delivers in order (PostgreSQL 15 sorts an aggregate's
# ORDER BY input itself: a million-row sort for a 1M-follower profile). A game is a row of an
# ordered subquery, which array_to_json writes as a compact object keyed by the column names;
# PostgreSQL never pulls a subquery with ORDER BY up into its parent, so the rows keep that order.

_PG_GAME_LIST = """array_to_json(ARRAY(
        SELECT game FROM (
            SELECT g.id, g.igdb, g.name
            FROM {through} t JOIN games_game g ON g.id = t.game_id
            WHERE t.user_id = u.id ORDER BY t.id
        ) game
    ))"""

_PG_IDS = """array_to_json(ARRAY(
        SELECT {item} FROM users_follow WHERE {owner} = u.id ORDER BY id
    ))"""

_PG_PROFILE = """
SELECT json_build_object(
    'id', u.id,
    'username', u.username,
    'email', {email},
    'bio', u.bio,
    'location', u.location,
    'twitter', u.twitter,
    'played', {played},
    'liked', {liked},
    'backlog', {backlog},
    'wishlist', {wishlist},
    'following', {following},
    'followers', {followers}{caller}
)::text
FROM users_user u{caller_join}
WHERE {where}
"""

_PG_CALLER = """,
    'me', json_build_object('id', v.id, 'username', v.username, 'email', v.email),
    'followingUser', EXISTS (
        SELECT 1 FROM users_follow WHERE follower_id = v.id AND followee_id = u.id
    )"""

# --- SQLite -------------------------------------------------------------------------------------
# json_object and json_group_array. A scalar subquery loses SQLite's JSON subtype, so its result
# would be embedded as a string: json(...) marks it as JSON again. The lists aggregate an ordered
# subquery; SQLite never flattens a subquery with ORDER BY into an aggregate query (its query
# flattener's rule 16), so the rows reach json_group_array in that order.

_SQLITE_GAME_LIST = """json((
        SELECT json_group_array(json_object('id', s.id, 'igdb', s.igdb, 'name', s.name))
        FROM (SELECT g.id, g.igdb, g.name FROM {through} t JOIN games_game g ON g.id = t.game_id
              WHERE t.user_id = u.id ORDER BY t.id) s
    ))"""

_SQLITE_IDS = """json((
        SELECT json_group_array(s.item)
        FROM (SELECT {item} AS item FROM users_follow
              WHERE {owner} = u.id ORDER BY id) s
    ))"""

_SQLITE_PROFILE = """
SELECT json_object(
    'id', u.id,
    'username', u.username,
    'email', {email},
    'bio', u.bio,
    'location', u.location,
    'twitter', u.twitter,
    'played', {played},
    'liked', {liked},
    'backlog', {backlog},
    'wishlist', {wishlist},
    'following', {following},
    'followers', {followers}{caller}
)
FROM users_user u{caller_join}
WHERE {where}
"""

_SQLITE_CALLER = """,
    'me', json_object('id', v.id, 'username', v.username, 'email', v.email),
    'followingUser', json(CASE WHEN EXISTS (
        SELECT 1 FROM users_follow WHERE follower_id = v.id AND followee_id = u.id
    ) THEN 'true' ELSE 'false' END)"""

_TEMPLATES = {
    # vendor: (document, game list, id list, caller keys)
    "postgresql": (_PG_PROFILE, _PG_GAME_LIST, _PG_IDS, _PG_CALLER),
    "sqlite": (_SQLITE_PROFILE, _SQLITE_GAME_LIST, _SQLITE_IDS, _SQLITE_CALLER),
}

# Shared by both databases. The username lookup is the one the unique LOWER(username) index
# serves, the same as UserQuerySet.by_username.
_WHERE = {
    "username": "lower(u.username) = lower(%(username)s)",
    "id": "u.id = %(user_id)s",
}
_EMAIL = {
    EMAIL_PUBLIC: "u.email",
    # NULL for anyone but the owner, anonymous readers included (their caller id is NULL).
    EMAIL_OWNER: "CASE WHEN u.id = %(caller_id)s THEN u.email END",
}


@functools.cache
def profile_sql(vendor: str, *, by: str, authenticated: bool, email: str) -> str:
    """The one statement that builds a profile document on `vendor`'s database.

    by: "username" or "id"; authenticated: adds `me` and `followingUser` for the caller;
    email: "public" or "owner" (OVERWORLD_PROFILE_EMAIL).
    """
    document, game_list, ids, caller = _TEMPLATES[vendor]
    lists = {
        name: game_list.format(
            through=User._meta.get_field(name).remote_field.through._meta.db_table
        )
        for name in GAME_LISTS
    }
    return document.format(
        email=_EMAIL[email],
        **lists,
        following=ids.format(item="followee_id", owner="follower_id"),
        followers=ids.format(item="follower_id", owner="followee_id"),
        caller=caller if authenticated else "",
        caller_join=" LEFT JOIN users_user v ON v.id = %(caller_id)s" if authenticated else "",
        where=_WHERE[by],
    )


def profile_document(
    *, username: str | None = None, user_id: int | None = None, caller=None
) -> bytes | None:
    """The profile of the user named `username` (case ignored) or of `user_id`, as JSON bytes.

    `caller` is the request's user: when authenticated, `me` and `followingUser` follow the
    twelve keys. None when there is no such user.
    """
    by = "username" if username is not None else "id"
    authenticated = caller is not None and caller.is_authenticated
    alias = router.db_for_read(User)
    connection = connections[alias]
    sql = profile_sql(
        connection.vendor,
        by=by,
        authenticated=authenticated,
        email=settings.OVERWORLD_PROFILE_EMAIL,
    )
    params = {
        "username": username,
        "user_id": user_id,
        "caller_id": caller.pk if authenticated else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else row[0].encode()
