"""The register/login throttles: per client, per username, atomic, on both cache kinds."""

import pytest
from django.core.cache import caches
from knox.models import AuthToken
from rest_framework import status

from core.counters import WindowCounter
from core.models import ThrottleCounter
from users.tests.factories import DEFAULT_PASSWORD, make_user
from users.tests.live import run_concurrently

LOGIN = "/api/users/login/"
REGISTER = "/api/users/register/"


@pytest.fixture
def auth_rate(settings):
    """auth_rate("3/day") sets OVERWORLD_THROTTLE_AUTH for this test."""

    def set_rate(rate):
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"auth": rate},
        }

    return set_rate


def login(client, username="madeline", password="wrong-password", **extra):
    return client.post(LOGIN, {"username": username, "password": password}, format="json", **extra)


def assert_throttled(response):
    assert response.status_code == status.HTTP_429_TOO_MANY_REQUESTS
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 86400
    assert response.json() == {
        "detail": f"Request was throttled. Expected available in {retry_after} seconds."
    }


@pytest.mark.django_db
def test_auth_throttle_refuses_client_beyond_rate(api_client, auth_rate):
    auth_rate("3/day")
    make_user(username="madeline")

    answers = [login(api_client).status_code for _ in range(3)]
    fourth = login(api_client, password=DEFAULT_PASSWORD)

    assert answers == [400, 400, 400]
    assert_throttled(fourth)


@pytest.mark.django_db
def test_auth_throttle_counts_register_and_login_together(api_client, auth_rate):
    auth_rate("2/day")
    body = {"username": "theo", "email": "theo@example.com", "password": DEFAULT_PASSWORD}

    registered = api_client.post(REGISTER, body, format="json")
    logged_in = login(api_client, "theo", DEFAULT_PASSWORD)
    third = api_client.post(REGISTER, {**body, "username": "theo2"}, format="json")

    assert registered.status_code == status.HTTP_200_OK
    assert logged_in.status_code == status.HTTP_200_OK
    assert_throttled(third)


@pytest.mark.django_db
def test_auth_throttle_counts_each_client_apart(api_client, auth_rate):
    auth_rate("1/day")

    first = login(api_client, REMOTE_ADDR="10.0.0.1")
    other_client = login(api_client, REMOTE_ADDR="10.0.0.2")

    assert first.status_code == status.HTTP_400_BAD_REQUEST
    assert other_client.status_code == status.HTTP_400_BAD_REQUEST
    assert_throttled(login(api_client, REMOTE_ADDR="10.0.0.1"))


@pytest.mark.django_db
def test_auth_throttle_ignores_forged_forwarded_for_without_proxies(api_client, auth_rate):
    auth_rate("1/day")

    login(api_client, HTTP_X_FORWARDED_FOR="10.9.9.1")
    second = login(api_client, HTTP_X_FORWARDED_FOR="10.9.9.2")

    assert_throttled(second)


@pytest.mark.django_db
def test_auth_throttle_trusts_forwarded_for_behind_proxies(api_client, auth_rate, settings):
    auth_rate("1/day")
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}

    first = login(api_client, HTTP_X_FORWARDED_FOR="forged, 10.9.9.1")
    other_client = login(api_client, HTTP_X_FORWARDED_FOR="forged, 10.9.9.2")
    again = login(api_client, HTTP_X_FORWARDED_FOR="another-forgery, 10.9.9.1")

    assert first.status_code == status.HTTP_400_BAD_REQUEST
    assert other_client.status_code == status.HTTP_400_BAD_REQUEST
    assert_throttled(again)


@pytest.mark.django_db
def test_login_failures_per_username_stop_a_distributed_guesser(api_client, settings):
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = "3/hour"
    make_user(username="madeline")

    guesses = [login(api_client, "MADELINE", REMOTE_ADDR=f"10.0.1.{n}") for n in range(3)]
    right_password = login(api_client, "madeline", DEFAULT_PASSWORD, REMOTE_ADDR="10.0.2.1")

    assert [guess.status_code for guess in guesses] == [400, 400, 400]
    assert_throttled(right_password)


@pytest.mark.django_db
def test_login_failures_of_one_username_leave_others_alone(api_client, settings):
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = "1/hour"
    make_user(username="madeline")
    make_user(username="theo")

    login(api_client, "madeline", REMOTE_ADDR="10.0.1.1")
    theo = login(api_client, "theo", DEFAULT_PASSWORD, REMOTE_ADDR="10.0.1.2")

    assert theo.status_code == status.HTTP_200_OK


@pytest.mark.django_db
def test_successful_logins_do_not_count_as_failures(api_client, settings):
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = "2/hour"
    make_user(username="madeline")

    answers = [
        login(api_client, "madeline", DEFAULT_PASSWORD, REMOTE_ADDR=f"10.0.3.{n}").status_code
        for n in range(5)
    ]

    assert answers == [200] * 5


@pytest.mark.django_db
def test_window_counter_table_rows_expire_with_their_window():
    WindowCounter("old", "5/min", now=0).hit()

    WindowCounter("new", "5/min").hit()

    assert list(ThrottleCounter.objects.values_list("count", flat=True)) == [1]


@pytest.mark.django_db(transaction=True)
def test_window_counter_on_database_admits_exactly_limit_under_concurrency():
    results = run_concurrently([lambda: WindowCounter("race", "5/day").hit()] * 24)

    assert results.count(True) == 5
    assert ThrottleCounter.objects.get().count == 24


def test_window_counter_on_redis_admits_exactly_limit_under_concurrency(redis_cache):

    results = run_concurrently([lambda: WindowCounter("race", "5/day").hit()] * 24)

    assert results.count(True) == 5
    assert caches["default"].get(WindowCounter("race", "5/day").key) == 24


@pytest.mark.django_db
def test_auth_throttle_on_redis_answers_429(redis_cache, api_client, auth_rate):
    auth_rate("2/day")

    answers = [login(api_client).status_code for _ in range(2)]
    third = login(api_client)

    assert answers == [400, 400]
    assert_throttled(third)
    assert not ThrottleCounter.objects.exists()


@pytest.mark.django_db
def test_auth_throttle_without_its_redis_answers_503(
    unreachable_redis_cache, api_client, auth_rate
):
    # Nothing listens on port 1: the shared counter store is down.
    auth_rate("5/day")
    make_user(username="madeline")

    response = login(api_client, password=DEFAULT_PASSWORD)

    assert response.status_code == status.HTTP_503_SERVICE_UNAVAILABLE
    assert response.json() == {"detail": "Service temporarily unavailable, try again later."}
    assert not AuthToken.objects.exists()
