"""gunicorn subprocesses (gthread, 2 workers, gunicorn.conf.py) on a database of the suite's kind.

These are the deployment's own processes: several workers, each with its own connections, so
the embedded SQLite default faces real concurrent writers, and throttle counts have to be
shared to hold. Set OVERWORLD_TEST_PORTS to keep their ports in a range.
"""

import re
from collections import Counter

import pytest

from users.models import USERNAME_TAKEN
from users.tests.conftest import suite_uses_postgresql
from users.tests.live import TEST_PASSWORD, call, run_concurrently, statuses, unique, unique_ip

pytestmark = pytest.mark.live

WRITERS = 32
NO_LIMITS = {"OVERWORLD_THROTTLE_AUTH": "100000/min", "OVERWORLD_THROTTLE_LOGIN_FAILURES": "none"}


def register(base_url, username, email=None):
    body = {"username": username, "email": email or f"{username}@example.com"}
    return lambda: call(
        base_url, "POST", "/api/users/register/", {**body, "password": TEST_PASSWORD}
    )


def assert_no_server_errors(server, tally: Counter) -> None:
    assert not [code for code in tally if code >= 500], tally
    assert "database is locked" not in server.log()


def test_gunicorn_concurrent_writers_get_no_server_error(server_database, start_server):
    server = start_server({**server_database, **NO_LIMITS})
    url = server.base_url
    tally = Counter()
    name = unique("Racer")

    # One username in mixed case, 32 times at once.
    same_name = run_concurrently(
        register(url, name.swapcase() if n % 2 else name, f"{name}{n}@example.com")
        for n in range(WRITERS)
    )
    tally += statuses(same_name)
    assert statuses(same_name) == {200: 1, 400: WRITERS - 1}
    assert {str(r.body) for r in same_name if r.status == 400} == {
        str({"username": [USERNAME_TAKEN]})
    }
    target = next(r.body["user"] for r in same_name if r.status == 200)

    # 32 new accounts at once.
    fans = run_concurrently(register(url, unique("fan")) for _ in range(WRITERS))
    tally += statuses(fans)
    assert statuses(fans) == {200: WRITERS}
    tokens = [reply.body["token"] for reply in fans]

    def post(path, body, token):
        return lambda: call(url, "POST", path, body, token=token)

    # Everyone follows the target, then half unfollow while the others follow again.
    follows = run_concurrently(post("/api/users/follow/", {"username": name}, t) for t in tokens)
    half = WRITERS // 2
    churn = run_concurrently(
        [post("/api/users/unfollow/", {"username": name}, t) for t in tokens[:half]]
        + [post("/api/users/follow/", {"username": name}, t) for t in tokens[half:]]
    )
    tally += statuses(follows) + statuses(churn)
    assert statuses(follows) == statuses(churn) == {200: WRITERS}
    followers = call(url, "GET", f"/api/users/{name}").body["followers"]
    assert sorted(followers) == sorted(reply.body["user"]["id"] for reply in fans[half:])

    # Every fan updates its own profile, and logs in again, all at once.
    updates = run_concurrently(
        post(f"/api/users/profile/{reply.body['user']['username']}", {"bio": "hi"}, t)
        for reply, t in zip(fans, tokens, strict=True)
    )
    logins = run_concurrently(
        post(
            "/api/users/login/",
            {"username": r.body["user"]["username"], "password": TEST_PASSWORD},
            None,
        )
        for r in fans
    )
    tally += statuses(updates) + statuses(logins)
    assert statuses(updates) == statuses(logins) == {200: WRITERS}

    print(f"\n{sum(tally.values())} requests in bursts of {WRITERS}: {dict(sorted(tally.items()))}")
    assert_no_server_errors(server, tally)
    assert target["username"] in {name, name.swapcase()}


@pytest.fixture(params=["database", "redis"])
def shared_cache_env(request):
    """The environment that picks the throttle's shared cache: the database or Redis."""
    if request.param == "database":
        return {}
    url, prefix = request.getfixturevalue("redis_url")
    return {"REDIS_URL": url, "OVERWORLD_CACHE_PREFIX": prefix}


def test_gunicorn_auth_throttle_counts_across_workers(
    server_database, start_server, shared_cache_env
):
    server = start_server(
        {
            **server_database,
            "OVERWORLD_THROTTLE_AUTH": "5/day",
            "OVERWORLD_THROTTLE_LOGIN_FAILURES": "none",
            # Behind one proxy: the client is the last X-Forwarded-For entry, unique per test.
            "OVERWORLD_NUM_PROXIES": "1",
            **shared_cache_env,
        }
    )
    client = {"X-Forwarded-For": unique_ip()}
    body = {"username": unique("nobody"), "password": "wrong-password"}

    replies = run_concurrently(
        [lambda: call(server.base_url, "POST", "/api/users/login/", body, headers=client)] * 16
    )

    assert statuses(replies) == {400: 5, 429: 11}
    for reply in replies:
        if reply.status == 429:
            wait = int(reply.headers["retry-after"])
            assert reply.body == {
                "detail": f"Request was throttled. Expected available in {wait} seconds."
            }
    another_client = call(
        server.base_url, "POST", "/api/users/login/", body, headers={"X-Forwarded-For": unique_ip()}
    )
    assert another_client.status == 400


@pytest.mark.skipif(
    not suite_uses_postgresql(), reason="two servers share one PostgreSQL: DATABASE_URL is not it"
)
def test_two_servers_share_tokens_logout_and_login_throttle(
    server_database, start_server, redis_url
):
    redis, prefix = redis_url
    env = {
        **server_database,
        "REDIS_URL": redis,
        "OVERWORLD_CACHE_PREFIX": prefix,
        "OVERWORLD_THROTTLE_AUTH": "4/day",
        "OVERWORLD_THROTTLE_LOGIN_FAILURES": "none",
    }
    first, second = start_server(env), start_server(env)
    assert first.port != second.port
    name = unique("twin")

    registered = register(first.base_url, name)()
    assert registered.status == 200
    token = registered.body["token"]

    # A token issued by one server works on the other.
    me = call(second.base_url, "GET", "/api/users/user/", token=token)
    assert me.status == 200
    assert me.body == registered.body["user"]

    # A login on the second, then a logout there is effective on the first at once.
    credentials = {"username": name, "password": TEST_PASSWORD}
    second_token = call(second.base_url, "POST", "/api/users/login/", credentials).body["token"]
    assert call(first.base_url, "GET", "/api/users/user/", token=second_token).status == 200
    assert call(second.base_url, "POST", "/api/users/logout/", token=token).status == 204
    after_logout = call(first.base_url, "GET", "/api/users/user/", token=token)
    assert after_logout.status == 401
    assert after_logout.body == {"detail": "Invalid token."}
    assert call(first.base_url, "GET", "/api/users/user/", token=second_token).status == 200

    # The login throttle (4 a day here) counts across both: 2 so far, 2 more, then 429 on both.
    wrong = {"username": name, "password": "wrong-password"}
    assert call(first.base_url, "POST", "/api/users/login/", wrong).status == 400
    assert call(second.base_url, "POST", "/api/users/login/", wrong).status == 400
    for server in (first, second):
        refused = call(server.base_url, "POST", "/api/users/login/", credentials)
        assert refused.status == 429
        assert re.fullmatch(r"\d+", refused.headers["retry-after"])
