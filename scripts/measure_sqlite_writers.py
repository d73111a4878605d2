"""Count server errors from the embedded SQLite under concurrent writers (docs/deployment.md).

Starts gunicorn as deployed (gunicorn.conf.py: gthread, 2 workers x 4 threads) on a fresh,
migrated temporary SQLite file, then fires bursts of N simultaneous writes: registrations of one
username, registrations of new users, follows/unfollows of one user, profile updates, logins.
Prints the status counts and the "database is locked" lines in the server log.

    .venv/bin/python scripts/measure_sqlite_writers.py 32 64 [--django-defaults] [--threads=4]

--django-defaults drops the project's SQLite options (IMMEDIATE transactions, 20 s timeout, WAL)
for Django's own, to show what they buy. Uses the MD5 test hasher, so writes are dense.
"""

import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "overworld.settings")
os.environ.setdefault("DJANGO_SECRET_KEY", "measurement-only-secret-key-0123456789abcdefghijkl")

import django  # noqa: E402

django.setup()

from users.tests.live import (  # noqa: E402
    TEST_PASSWORD,
    GunicornServer,
    call,
    manage,
    run_concurrently,
    statuses,
    unique,
)


def burst(url: str, writers: int) -> Counter:
    name = unique("racer")
    tally = Counter()

    def register(username, email):
        body = {"username": username, "email": email, "password": TEST_PASSWORD}
        return lambda: call(url, "POST", "/api/users/register/", body)

    tally += statuses(
        run_concurrently(
            register(name.upper() if n % 2 else name, f"{name}{n}@example.com")
            for n in range(writers)
        )
    )
    fans = run_concurrently(
        register(u, f"{u}@example.com") for u in (unique("fan") for _ in range(writers))
    )
    tally += statuses(fans)
    ok = [fan.body for fan in fans if fan.status == 200]

    def post(path, body, token=None):
        return lambda: call(url, "POST", path, body, token=token)

    for route in ("follow", "unfollow"):
        tally += statuses(
            run_concurrently(
                post(f"/api/users/{route}/", {"username": name}, fan["token"]) for fan in ok
            )
        )
    tally += statuses(
        run_concurrently(
            post(f"/api/users/profile/{fan['user']['username']}", {"bio": "hi"}, fan["token"])
            for fan in ok
        )
    )
    tally += statuses(
        run_concurrently(
            post(
                "/api/users/login/",
                {"username": fan["user"]["username"], "password": TEST_PASSWORD},
            )
            for fan in ok
        )
    )
    return tally


def main() -> None:
    args = sys.argv[1:]
    defaults = "--django-defaults" in args
    sizes = [int(arg) for arg in args if arg.isdigit()] or [32]
    threads = int(next((a.split("=")[1] for a in args if a.startswith("--threads=")), "4"))
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'db.sqlite3'}"
        env = {
            "DATABASE_URL": url,
            "OVERWORLD_THROTTLE_AUTH": "100000/min",
            "OVERWORLD_THROTTLE_LOGIN_FAILURES": "none",
            "OVERWORLD_MEASURE_SQLITE_DEFAULTS": "1" if defaults else "0",
        }
        manage(env, "migrate", "--noinput")
        server = GunicornServer(env, Path(directory), workers=2, threads=threads).start()
        try:
            for writers in sizes:
                started = time.monotonic()
                tally = burst(server.base_url, writers)
                errors = sum(count for code, count in tally.items() if code >= 500)
                print(
                    f"{'django defaults' if defaults else 'project settings'}, "
                    f"2 workers x {threads} threads, N={writers}: "
                    f"{sum(tally.values())} requests in {time.monotonic() - started:.1f} s, "
                    f"statuses {dict(sorted(tally.items()))}, 5xx {errors}"
                )
            locked = server.log_path.read_text(errors="replace").count("database is locked")
            print(f"'database is locked' in the server log: {locked}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
