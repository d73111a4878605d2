"""The admin login is throttled like the API's (issue 15): per client, per username, shared."""

import re

import pytest
from django.contrib.auth.signals import user_login_failed
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from core.models import ThrottleCounter
from users.tests.factories import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
INVALID = (
    "Please enter the correct username and password for a staff account. "
    "Note that both fields may be case-sensitive."
)
THROTTLED = re.compile(r"Too many login attempts\. Try again in (\d+) seconds?\.")


@pytest.fixture
def root(db):
    return make_user(username="root", email="root@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def rates(settings):
    """rates(client=..., username=...) sets the admin's per-client and per-username limits."""

    def set_rates(client="1000/hour", username="1000/hour"):
        settings.OVERWORLD_THROTTLE_ADMIN_LOGIN = client
        settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = username

    return set_rates


def browser(address="203.0.113.7", **options) -> Client:
    """A client that, like a browser, must send the CSRF token of the form it was given."""
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=address, **options)


def log_in(client, username="root", password="wrong-password"):
    """Opens the admin's login page and submits its form."""
    page = client.get(LOGIN, {"next": "/admin/"})
    assert page.status_code == 200
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.content).group(1)
    return client.post(
        f"{LOGIN}?next=/admin/",
        {
            "csrfmiddlewaretoken": token.decode(),
            "username": username,
            "password": password,
            "next": "/admin/",
        },
    )


def form_errors(response) -> list[str]:
    return list(response.context["form"].non_field_errors())


def assert_refused(response) -> None:
    """Refused by a throttle: the admin's own login page with its error, 429 and Retry-After."""
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 3600
    unit = "second" if wait == 1 else "seconds"
    message = f"Too many login attempts. Try again in {wait} {unit}."
    assert form_errors(response) == [message]
    assert f'<p class="errornote">\n    {message}\n</p>' in response.content.decode()
    assert "_auth_user_id" not in response.client.session


def assert_wrong(response) -> None:
    assert response.status_code == 200
    assert form_errors(response) == [INVALID]
    assert "_auth_user_id" not in response.client.session


def test_admin_login_succeeds_through_the_form(root, rates):
    rates()

    response = log_in(browser(), password=DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert response.client.get("/admin/").status_code == 200


def test_admin_login_refuses_a_client_beyond_its_rate(root, rates):
    rates(client="3/hour")
    client = browser()

    for _ in range(3):
        assert_wrong(log_in(client))
    assert_refused(log_in(client, password=DEFAULT_PASSWORD))
    # Another address is a client of its own.
    assert log_in(browser("198.51.100.1"), password=DEFAULT_PASSWORD).status_code == 302


def test_admin_login_locks_a_username_out_from_every_client(root, rates):
    rates(username="3/hour")

    for n in range(3):
        assert_wrong(log_in(browser(f"198.51.100.{n}")))
    # The right password, from a fresh address, during the lockout: refused the same way.
    assert_refused(log_in(browser("192.0.2.1"), password=DEFAULT_PASSWORD))
    assert_refused(log_in(browser("192.0.2.2"), username="ROOT", password=DEFAULT_PASSWORD))
    # Other accounts are not locked.
    make_user(username="admin2", is_staff=True)
    assert log_in(browser("192.0.2.3"), "admin2", DEFAULT_PASSWORD).status_code == 302


def refusals(username: str) -> list[tuple[int, list[str], int]]:
    """Status, form errors (waits masked) and counter rows of six attempts on one username."""
    answers = []
    for n in range(6):
        response = log_in(browser(f"198.51.100.{n}"), username=username)
        errors = [THROTTLED.sub("THROTTLED", error) for error in form_errors(response)]
        answers.append((response.status_code, errors, ThrottleCounter.objects.count()))
    ThrottleCounter.objects.all().delete()
    return answers


def test_admin_login_answers_alike_for_existing_and_unknown_usernames(root, rates):
    rates(username="3/hour")

    existing = refusals("root")
    unknown = refusals("nobody-here")

    assert existing == unknown
    assert [status for status, _errors, _rows in existing] == [200, 200, 200, 429, 429, 429]
    assert existing[0][1] == [INVALID]
    assert existing[3][1] == ["THROTTLED"]


def test_admin_login_success_gives_its_failure_back(root, rates):
    rates(username="2/hour")
    client = browser()

    assert_wrong(log_in(client))
    assert log_in(client, password=DEFAULT_PASSWORD).status_code == 302
    client.logout()
    # One failure counted, not two: one more wrong password still gets the ordinary answer.
    assert_wrong(log_in(browser()))
    assert_refused(log_in(browser()))


def test_admin_login_counts_non_staff_and_inactive_accounts_as_failures(rates):
    rates(username="2/hour")
    make_user(username="player")
    make_user(username="retired", is_staff=True, is_active=False)

    for username in ("player", "retired"):
        assert_wrong(log_in(browser(), username, DEFAULT_PASSWORD))
        assert_wrong(log_in(browser(), username, DEFAULT_PASSWORD))
        assert_refused(log_in(browser(), username, DEFAULT_PASSWORD))


def test_admin_and_api_login_share_the_username_count(root, rates, api_client):
    rates(username="3/hour")
    body = {"username": "root", "password": "wrong-password"}

    assert api_client.post("/api/users/login/", body, format="json").status_code == 400
    assert api_client.post("/api/users/login/", body, format="json").status_code == 400
    assert_wrong(log_in(browser()))
    assert_refused(log_in(browser(), password=DEFAULT_PASSWORD))
    assert api_client.post("/api/users/login/", body, format="json").status_code == 429


def test_admin_login_failure_sends_user_login_failed(root, rates):
    rates(username="2/hour")
    received = []

    def receiver(sender, credentials, request, **kwargs):
        received.append((credentials["username"], request.path))

    user_login_failed.connect(receiver)
    try:
        assert_wrong(log_in(browser(), "root"))
        assert_wrong(log_in(browser(), "nobody-here"))
    finally:
        user_login_failed.disconnect(receiver)

    assert received == [("root", LOGIN), ("nobody-here", LOGIN)]


def test_admin_login_throttle_spares_the_page_and_the_rest_of_the_admin(rates, admin_client_):
    rates(client="1/hour")  # admin_client_ is "root", logged in without the form
    client = browser()
    assert_wrong(log_in(client))
    assert_refused(log_in(client))

    assert client.get(LOGIN).status_code == 200
    assert admin_client_.get("/admin/").status_code == 200
    assert admin_client_.get("/admin/users/user/").status_code == 200


def test_admin_login_count_is_shared_by_two_servers(root, rates):
    # Two servers with the same settings: two test clients of one project, the same shared
    # cache (the database cache table here, Redis below), one client address behind both.
    rates(client="3/hour")
    server_a, server_b = browser(), browser()

    assert_wrong(log_in(server_a))
    assert_wrong(log_in(server_b))
    assert_wrong(log_in(server_a))
    assert_refused(log_in(server_b, password=DEFAULT_PASSWORD))


def test_admin_login_on_redis_shares_the_count_between_servers(root, rates, redis_cache):
    rates(username="2/hour")
    server_a, server_b = browser("198.51.100.1"), browser("198.51.100.2")

    assert_wrong(log_in(server_a))
    assert_wrong(log_in(server_b))
    assert_refused(log_in(server_a, password=DEFAULT_PASSWORD))
    assert not ThrottleCounter.objects.exists()


def test_admin_login_without_its_redis_answers_503(root, rates, unreachable_redis_cache):
    # Nothing listens on port 1: the shared counter store is down, so no password is checked.
    rates()

    response = log_in(browser(raise_request_exception=False), password=DEFAULT_PASSWORD)

    assert response.status_code == 503
    assert response.json() == {"detail": "Service temporarily unavailable, try again later."}
    assert "_auth_user_id" not in response.client.session


def test_unlock_login_lifts_a_lockout(root, rates, capsys):
    rates(client="2/hour", username="2/hour")
    client = browser()
    assert_wrong(log_in(client))
    assert_wrong(log_in(client))
    assert_refused(log_in(client, password=DEFAULT_PASSWORD))

    call_command("unlock_login", "Root", "--client", "203.0.113.7")

    assert capsys.readouterr().out == (
        'Failed logins of "Root" reset.\nLogin attempts of client 203.0.113.7 reset.\n'
    )
    assert log_in(client, password=DEFAULT_PASSWORD).status_code == 302


def test_unlock_login_without_a_username_or_client_refuses():
    with pytest.raises(CommandError) as excinfo:
        call_command("unlock_login")

    assert str(excinfo.value) == "Name a USERNAME, a --client ADDRESS, or both."
