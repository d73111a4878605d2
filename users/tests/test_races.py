"""Races through a live server and real threads, on the suite's database (SQLite or PostgreSQL).

Every test releases its requests together behind a barrier; each request is served on its own
thread and database connection (`race_server`; the SQLite test database is a file).
"""

import random

import pytest
from knox.models import AuthToken
from rest_framework import status

from users.models import EMAIL_TAKEN, USERNAME_TAKEN, Follow, User
from users.tests.factories import DEFAULT_PASSWORD, make_user
from users.tests.live import TEST_PASSWORD, call, run_concurrently, statuses

pytestmark = [pytest.mark.live, pytest.mark.django_db(transaction=True)]

WRITERS = 32


@pytest.fixture(autouse=True)
def _no_throttle(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"auth": "100000/min"},
    }
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = None


def mixed_case(word: str, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in word)


def register(base_url, username, email):
    body = {"username": username, "email": email, "password": TEST_PASSWORD}
    return lambda: call(base_url, "POST", "/api/users/register/", body)


def token_for(user) -> str:
    return AuthToken.objects.create(user=user)[1]


def test_register_one_username_concurrently_creates_one_user(race_server):
    replies = run_concurrently(
        register(race_server, mixed_case("madeline", n), f"m{n}@example.com")
        for n in range(WRITERS)
    )

    assert statuses(replies) == {200: 1, 400: WRITERS - 1}
    refused = [reply.body for reply in replies if reply.status == status.HTTP_400_BAD_REQUEST]
    assert refused == [{"username": [USERNAME_TAKEN]}] * (WRITERS - 1)
    assert User.objects.by_username("madeline").count() == 1
    assert User.objects.count() == 1


def test_register_one_email_concurrently_creates_one_user(race_server):
    replies = run_concurrently(
        register(race_server, f"player{n}", f"{mixed_case('madeline', n)}@Example.com")
        for n in range(WRITERS)
    )

    assert statuses(replies) == {200: 1, 400: WRITERS - 1}
    refused = [reply.body for reply in replies if reply.status == status.HTTP_400_BAD_REQUEST]
    assert refused == [{"email": [EMAIL_TAKEN]}] * (WRITERS - 1)
    assert User.objects.by_email("madeline@example.com").count() == 1
    assert User.objects.count() == 1


def test_follow_and_unfollow_concurrently_keep_lists_consistent(race_server):
    target = make_user(username="madeline")
    fans = [make_user() for _ in range(16)]
    tokens = {fan.pk: token_for(fan) for fan in fans}

    def act(route, fan):
        body = {"username": "MADELINE"}
        return lambda: call(race_server, "POST", f"/api/users/{route}/", body, token=tokens[fan.pk])

    # Everyone follows twice at once: one row per pair survives.
    followed = run_concurrently(act("follow", fan) for fan in fans + fans)
    assert statuses(followed) == {200: 32}
    assert {reply.body == [] for reply in followed} == {True}
    assert Follow.objects.filter(followee=target).count() == 16

    # Half unfollow while the other half follow again.
    leaving, staying = fans[:8], fans[8:]
    mixed = run_concurrently(
        [act("unfollow", fan) for fan in leaving] + [act("follow", fan) for fan in staying]
    )
    assert statuses(mixed) == {200: 16}

    profile = call(race_server, "GET", "/api/users/madeline").body
    assert sorted(profile["followers"]) == sorted(fan.pk for fan in staying)
    assert len(profile["followers"]) == len(set(profile["followers"]))
    for fan in fans:
        following = call(race_server, "GET", f"/api/users/{fan.username}").body["following"]
        assert following == ([target.pk] if fan in staying else [])


def test_profile_updates_of_different_fields_concurrently_all_survive(race_server):
    owner = make_user(username="madeline")
    token = token_for(owner)
    path = "/api/users/profile/madeline"

    for round_ in range(4):
        values = {
            "bio": f"bio {round_}",
            "location": f"place {round_}",
            "twitter": f"handle{round_}",
            "email": f"madeline{round_}@example.com",
        }
        replies = run_concurrently(
            (lambda f=field, v=value: call(race_server, "POST", path, {f: v}, token=token))
            for field, value in values.items()
        )

        assert statuses(replies) == {200: 4}
        owner.refresh_from_db()
        stored = {field: getattr(owner, field) for field in values}
        assert stored == values


def test_concurrent_logins_never_exceed_token_limit(race_server, settings):
    settings.OVERWORLD_TOKEN_LIMIT_PER_USER = 3
    user = make_user(username="madeline")
    body = {"username": "madeline", "password": DEFAULT_PASSWORD}

    replies = run_concurrently([lambda: call(race_server, "POST", "/api/users/login/", body)] * 12)

    assert statuses(replies) == {200: 12}
    assert AuthToken.objects.filter(user=user).count() == 3
    answers = [
        call(race_server, "GET", "/api/users/user/", token=reply.body["token"]).status
        for reply in replies
    ]
    assert sorted(answers) == [200] * 3 + [401] * 9


def test_concurrent_wrong_logins_from_many_clients_stop_at_failure_limit(race_server, settings):
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = "5/day"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    make_user(username="madeline")
    body = {"username": "Madeline", "password": "wrong-password"}

    def guess(n):
        client = {"X-Forwarded-For": f"10.0.0.{n}"}
        return lambda: call(race_server, "POST", "/api/users/login/", body, headers=client)

    replies = run_concurrently(guess(n) for n in range(16))

    assert statuses(replies) == {400: 5, 429: 11}
