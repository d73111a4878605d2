"""Migrate and seed one throwaway benchmark database, then measure each endpoint in-process.

Run by bench/run.py with DATABASE_URL and DJANGO_SETTINGS_MODULE=bench.settings set; writes a
JSON description (usernames, token, queries and bytes per endpoint) to the path given.

Bulk rows are made by the database itself (generate_series on PostgreSQL, a recursive CTE on
SQLite): a million followers are one INSERT ... SELECT, not a million ORM objects.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from knox.models import AuthToken  # noqa: E402

from games.models import Game  # noqa: E402
from users.models import User  # noqa: E402

TYPICAL_GAMES = 50
TYPICAL_FOLLOWS = 200


def _series(n: int) -> tuple[str, str]:
    """(WITH prefix, FROM source) yielding g = 1..n on this backend."""
    if connection.vendor == "postgresql":
        return "", f"generate_series(1, {int(n)}) AS s(g)"
    recursive = f"SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {int(n)}"
    return f"WITH RECURSIVE s(g) AS ({recursive}) ", "s"


def seed_fans(n: int) -> int:
    """Insert users fan1..fanN (unusable passwords); return fan1's id (the ids are contiguous)."""
    with_clause, source = _series(n)
    now = "now()" if connection.vendor == "postgresql" else "CURRENT_TIMESTAMP"
    with connection.cursor() as cursor:
        cursor.execute(
            f"{with_clause}INSERT INTO users_user (password, is_superuser, first_name, last_name,"
            " is_staff, is_active, date_joined, username, email)"
            f" SELECT '!', FALSE, '', '', FALSE, TRUE, {now}, 'fan' || g, 'fan' || g ||"
            f" '@example.com' FROM {source} ORDER BY g"
        )
    first = User.objects.get(username="fan1").pk
    last = User.objects.get(username=f"fan{n}").pk
    assert last - first == n - 1, "fan ids are not contiguous"
    return first


def add_followers(user: User, first_fan: int, count: int) -> None:
    now = "now()" if connection.vendor == "postgresql" else "CURRENT_TIMESTAMP"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users_follow (follower_id, followee_id, created_at)"
            f" SELECT id, %s, {now} FROM users_user WHERE id >= %s AND id < %s ORDER BY id",
            [user.pk, first_fan, first_fan + count],
        )


def add_following(user: User, first_fan: int, count: int) -> None:
    now = "now()" if connection.vendor == "postgresql" else "CURRENT_TIMESTAMP"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO users_follow (follower_id, followee_id, created_at)"
            f" SELECT %s, id, {now} FROM users_user WHERE id >= %s AND id < %s ORDER BY id",
            [user.pk, first_fan, first_fan + count],
        )


def seed(celebrities: list[int]) -> dict:
    fans = max([TYPICAL_FOLLOWS, *celebrities])
    started = time.monotonic()
    with transaction.atomic():
        first_fan = seed_fans(fans)
        games = Game.objects.bulk_create(
            Game(igdb=str(10_000 + i), name=f"Game number {i} of the bench catalogue")
            for i in range(4 * TYPICAL_GAMES)
        )
        typical = User.objects.create(
            username="typical", email="typical@example.com", password="!",
            bio="I play a bit of everything", location="A Mountain", twitter="typical",
        )  # fmt: skip
        for n, list_name in enumerate(("played", "liked", "backlog", "wishlist")):
            getattr(typical, list_name).set(games[n * TYPICAL_GAMES : (n + 1) * TYPICAL_GAMES])
        add_following(typical, first_fan, TYPICAL_FOLLOWS)
        add_followers(typical, first_fan, TYPICAL_FOLLOWS)
        celebs = {}
        for count in celebrities:
            celeb = User.objects.create(
                username=f"celeb{count}", email=f"celeb{count}@example.com", password="!",
                bio="Famous", location="Everywhere",
            )  # fmt: skip
            add_followers(celeb, first_fan, count)
            celebs[count] = celeb.username
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Fresh statistics and visibility map, as a live database has: index-only scans.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    _instance, token = AuthToken.objects.create(user=typical)
    return {
        "token": token,
        "typical": "typical",
        "celebrities": celebs,
        "seed_seconds": round(time.monotonic() - started, 1),
    }


MIX_ACTORS = 16
MIX_LOGIN_USERS = 4
MIX_PASSWORD = "correct-horse-battery-staple"


def seed_mix(path: Path) -> None:
    """The users bench/frontend_mix.lua acts as, written to `path` for it to read.

    Actors (one per wrk connection) hold a token each and modest profiles (10 games per list,
    following 20 users); login users only log in, so the cap on live tokens per user never
    revokes an actor's token. One password hash is made and shared: Argon2 costs ~0.2 s each.
    """
    from django.contrib.auth.hashers import make_password

    password = make_password(MIX_PASSWORD)
    games = list(Game.objects.order_by("pk")[:40])
    first_fan = User.objects.get(username="fan1").pk
    lines = []
    with transaction.atomic():
        for n in range(1, MIX_ACTORS + 1):
            actor = User.objects.create(
                username=f"mix{n}", email=f"mix{n}@example.com", password=password
            )
            for k, list_name in enumerate(("played", "liked", "backlog", "wishlist")):
                getattr(actor, list_name).set(games[k * 10 : (k + 1) * 10])
            add_following(actor, first_fan, 20)
            _instance, token = AuthToken.objects.create(user=actor)
            lines.append(f"actor {actor.username} {token}")
        for n in range(1, MIX_LOGIN_USERS + 1):
            User.objects.create(
                username=f"mixlogin{n}", email=f"mixlogin{n}@example.com", password=password
            )
            lines.append(f"login mixlogin{n} {MIX_PASSWORD}")
    lines += ["profile typical"] + [f"profile fan{n}" for n in range(1, 51)]
    lines += [f"profile mix{n}" for n in range(1, MIX_ACTORS + 1)]
    path.write_text("\n".join(lines) + "\n")


def measure(path: str, token: str | None = None) -> dict:
    """Queries and bytes of one request, made in-process (no HTTP)."""
    client = Client(HTTP_HOST="127.0.0.1")
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if token else {}
    client.get(path, **headers)  # warm: the first request imports and connects
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(path, **headers)
        elapsed = time.perf_counter() - started
    assert response.status_code == 200, (path, response.status_code, response.content[:200])
    return {
        "queries": len(queries),
        "bytes": len(response.content),
        "inproc_ms": round(elapsed * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--celebrities", default="100000")
    parser.add_argument("--out", required=True)
    parser.add_argument("--mix", default=None, help="write bench/frontend_mix.lua's users here")
    args = parser.parse_args()
    celebrities = [int(c) for c in args.celebrities.split(",") if c]

    call_command("migrate", verbosity=0, interactive=False)
    info = seed(celebrities)
    if args.mix:
        seed_mix(Path(args.mix))
    info["vendor"] = connection.vendor
    endpoints = {
        "floor": ("/bench/floor/", None),
        "user": ("/api/users/user/", info["token"]),
        "typical": ("/api/users/typical", None),
        "typical_auth": ("/api/users/typical", info["token"]),
    }
    for count, username in info["celebrities"].items():
        endpoints[f"celeb{count}"] = (f"/api/users/{username}", None)
    # The bench-only DEBUG stays off; CaptureQueriesContext records queries regardless.
    info["inproc"] = {name: measure(path, token) for name, (path, token) in endpoints.items()}
    info["paths"] = {name: path for name, (path, _token) in endpoints.items()}
    Path(args.out).write_text(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
