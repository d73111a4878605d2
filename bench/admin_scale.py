"""Seed a database at admin scale, then time every admin page through gunicorn (issue 12).

    DATABASE_URL=... python bench/admin_scale.py seed      # once per database
    DATABASE_URL=... python bench/admin_scale.py measure   # starts gunicorn, signs in, times

`seed` migrates and fills the (empty) database with: 1,000,000 users fan1..fan1000000; a
celebrity `celeb` followed by 100,000 of them and following 100,000; a chain of follows fan(n)
-> fan(n+1) (1,199,999 follows in all); 100,000 games, 10,000 in each of the celebrity's four
lists; game 1 in 100,000 users' played lists (game 2 liked, 3 backlog, 4 wishlist); 100,000
tokens; the superuser `admin`. Bulk rows are made by the database itself as in
bench/prepare.py (generate_series on PostgreSQL, a recursive CTE on SQLite).

`measure` starts gunicorn (one worker, one thread: nothing else competes) on a free port, signs
in through /admin/login/ like a browser (session cookie and CSRF token), requests every page
once to warm it and then REPEAT times, and prints a Markdown table: the median time and the
size of the body. docs/operations.md has the results.
"""

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "overworld.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "admin-scale-measurement-only-not-a-deployment-key")

USERS = 1_000_000
CELEBRITY_FOLLOWS = 100_000
GAMES = 100_000
GAMES_PER_LIST = 10_000
TOKENS = 100_000
ADMIN_PASSWORD = "measure-the-admin-42"
REPEAT = 3
TIMEOUT = 40  # seconds; gunicorn kills a worker after 30


def _series(connection, n: int) -> tuple[str, str]:
    """(WITH prefix, FROM source) yielding g = 1..n on this backend."""
    if connection.vendor == "postgresql":
        return "", f"generate_series(1, {int(n)}) AS s(g)"
    recursive = f"SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {int(n)}"
    return f"WITH RECURSIVE s(g) AS ({recursive}) ", "s"


def seed() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from users.models import GAME_LISTS, User

    call_command("migrate", verbosity=0, interactive=False)
    if User.objects.exists():
        sys.exit("the database is not empty: seed a fresh one")
    now = "now()" if connection.vendor == "postgresql" else "CURRENT_TIMESTAMP"
    started = time.monotonic()

    def run(label: str, sql: str, params=()) -> None:
        step = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        print(f"{label}: {time.monotonic() - step:.1f} s", flush=True)

    with transaction.atomic():
        with_users, users = _series(connection, USERS)
        run(
            "users",
            f"{with_users}INSERT INTO users_user (password, is_superuser, first_name, last_name,"
            " is_staff, is_active, date_joined, username, email)"
            f" SELECT '!', FALSE, '', '', FALSE, TRUE, {now}, 'fan' || g,"
            f" 'fan' || g || '@example.com' FROM {users} ORDER BY g",
        )
        first = User.objects.get(username="fan1").pk
        celeb = User.objects.create(username="celeb", email="celeb@example.com", password="!")
        User.objects.create_superuser("admin", "admin@example.com", ADMIN_PASSWORD)
        run(
            "follows: the chain",
            "INSERT INTO users_follow (follower_id, followee_id, created_at)"
            f" SELECT id, id + 1, {now} FROM users_user WHERE id >= %s AND id < %s ORDER BY id",
            [first, first + USERS - 1],
        )
        run(
            "follows: the celebrity's followers",
            "INSERT INTO users_follow (follower_id, followee_id, created_at)"
            f" SELECT id, %s, {now} FROM users_user WHERE id >= %s AND id < %s ORDER BY id",
            [celeb.pk, first, first + CELEBRITY_FOLLOWS],
        )
        run(
            "follows: the celebrity's followings",
            "INSERT INTO users_follow (follower_id, followee_id, created_at)"
            f" SELECT %s, id, {now} FROM users_user WHERE id >= %s AND id < %s ORDER BY id",
            [celeb.pk, first, first + CELEBRITY_FOLLOWS],
        )
        with_games, games = _series(connection, GAMES)
        run(
            "games",
            f"{with_games}INSERT INTO games_game (igdb, name)"
            f" SELECT 'g' || g, 'Game number ' || g FROM {games} ORDER BY g",
        )
        first_game = connection.cursor()
        first_game.execute("SELECT MIN(id) FROM games_game")
        first_game = first_game.fetchone()[0]
        for n, list_name in enumerate(GAME_LISTS):
            table = User._meta.get_field(list_name).remote_field.through._meta.db_table
            low = first_game + n * GAMES_PER_LIST
            run(
                f"{list_name}: the celebrity's",
                f"INSERT INTO {table} (user_id, game_id) SELECT %s, id FROM games_game"
                " WHERE id >= %s AND id < %s ORDER BY id",
                [celeb.pk, low, low + GAMES_PER_LIST],
            )
            # Game 1 in 100,000 fans' played lists, game 2 in as many liked lists, ...
            run(
                f"{list_name}: game {n + 1}'s holders",
                f"INSERT INTO {table} (user_id, game_id) SELECT id, %s FROM users_user"
                " WHERE id >= %s AND id < %s ORDER BY id",
                [first_game + n, first, first + CELEBRITY_FOLLOWS],
            )
        run(
            "tokens",
            "INSERT INTO knox_authtoken (digest, token_key, user_id, created, expiry)"
            f" SELECT 'digest' || id, 'key' || id, id, {now}, NULL FROM users_user"
            " WHERE id >= %s AND id < %s ORDER BY id",
            [first, first + TOKENS],
        )
    if connection.vendor == "postgresql":
        # Statistics and a visibility map, as a live database has them (autovacuum).
        run("vacuum analyze", "VACUUM ANALYZE")
    else:
        run("analyze", "ANALYZE")
    print(f"seeded in {time.monotonic() - started:.0f} s; celeb id {celeb.pk}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pages(ids: dict) -> list[tuple[str, str]]:
    celeb, game, fan = ids["celeb"], ids["game"], ids["fan"]
    return [
        ("index", "/admin/"),
        ("users: list (1M)", "/admin/users/user/"),
        ("users: list, page 5000", "/admin/users/user/?p=5000"),
        ("users: search `fan12345`", "/admin/users/user/?q=fan12345"),
        ("users: sorted by followers", "/admin/users/user/?o=-3"),
        ("users: filter staff=no", "/admin/users/user/?is_staff__exact=0"),
        (
            "users: filter joined since 2000",
            "/admin/users/user/?date_joined__gte=2000-01-01T00:00:00%2B00:00",
        ),
        ("celebrity: change page", f"/admin/users/user/{celeb}/change/"),
        ("celebrity: delete page", f"/admin/users/user/{celeb}/delete/"),
        ("a fan: change page", f"/admin/users/user/{fan}/change/"),
        ("follows: list (1.2M)", "/admin/users/follow/"),
        ("follows: celebrity's followers", f"/admin/users/follow/?followee__id__exact={celeb}"),
        (
            "follows: their page 1000",
            f"/admin/users/follow/?followee__id__exact={celeb}&p=1000",
        ),
        ("follows: celebrity's followings", f"/admin/users/follow/?follower__id__exact={celeb}"),
        ("follows: search `fan4242`", "/admin/users/follow/?q=fan4242"),
        ("follows: search `celeb`", "/admin/users/follow/?q=celeb"),
        ("follows: add page", "/admin/users/follow/add/"),
        ("played: celebrity's list", f"/admin/users/user_played/?user__id__exact={celeb}"),
        ("played: all entries", "/admin/users/user_played/"),
        ("played: search `celeb`", "/admin/users/user_played/?q=celeb"),
        ("played: search `number 4242`", "/admin/users/user_played/?q=number+4242"),
        ("games: list (100k)", "/admin/games/game/"),
        ("games: search `number 4242`", "/admin/games/game/?q=number+4242"),
        ("game 1 (100k players): change", f"/admin/games/game/{game}/change/"),
        ("game 1: delete page", f"/admin/games/game/{game}/delete/"),
        ("tokens: list (100k)", "/admin/knox/authtoken/"),
        ("tokens: add page", "/admin/knox/authtoken/add/"),
        (
            "autocomplete: users `fan12`",
            "/admin/autocomplete/?app_label=users&model_name=follow&field_name=followee&term=fan12",
        ),
    ]


def measure(repeat: int) -> None:
    import django

    django.setup()
    from django.db import connection

    from games.models import Game
    from users.models import User

    ids = {
        "celeb": User.objects.get(username="celeb").pk,
        "fan": User.objects.get(username="fan500000").pk,
        "game": Game.objects.order_by("pk").values_list("pk", flat=True).first(),
    }
    vendor = connection.vendor
    connection.close()

    port = free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "1",
        "GUNICORN_LOG_LEVEL": "warning",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SESSION_COOKIE_SECURE": "0",
        "DJANGO_CSRF_COOKIE_SECURE": "0",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "overworld.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        for _ in range(100):
            try:
                login = opener.open(f"{base}/admin/login/", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not answer")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": csrf, "username": "admin", "password": ADMIN_PASSWORD}
        ).encode()
        signed_in = opener.open(f"{base}/admin/login/?next=/admin/", body, timeout=30)
        assert signed_in.url.endswith("/admin/"), signed_in.url

        print(f"{vendor}, gunicorn 1 worker x 1 thread, median of {repeat} after one warm-up\n")
        print("| page | path | time | size |")
        print("|---|---|---|---|")
        for label, path in pages(ids):
            times = []
            try:
                opener.open(base + path, timeout=TIMEOUT).read()
                for _ in range(repeat):
                    started = time.perf_counter()
                    response = opener.open(base + path, timeout=TIMEOUT)
                    content = response.read()
                    times.append(time.perf_counter() - started)
                    assert response.status == 200, (path, response.status)
            except OSError as error:  # gunicorn's 30 s timeout kills the worker
                print(f"| {label} | `{path}` | failed: {error} | |", flush=True)
                continue
            size = f"{len(content) / 1024:,.0f} KiB"
            elapsed = f"{statistics.median(times) * 1000:,.0f} ms"
            print(f"| {label} | `{path}` | {elapsed} | {size} |", flush=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["seed", "measure"])
    parser.add_argument("--repeat", type=int, default=REPEAT)
    args = parser.parse_args()
    if args.command == "seed":
        seed()
    else:
        measure(args.repeat)


if __name__ == "__main__":
    main()
