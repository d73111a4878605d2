"""users.services called directly: each write's rules, and the read-your-writes pin it records.

The routes that call them are tested over HTTP beside this file (test_register.py, ...).
"""

import inspect

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import connection
from knox.models import AuthToken

from core import service_decorator
from core.errors import field_errors
from core.models import ThrottleCounter
from core.service_decorator import service
from games.models import Game
from games.tests.factories import make_game
from users import services
from users.models import Follow, User, UserQuerySet
from users.serializers import LoginSerializer
from users.tests.factories import DEFAULT_PASSWORD, make_user
from users.views import FollowView

USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "A user with that email already exists."
RESERVED = "This username is reserved."
SERVICES = [
    "add_game",
    "follow",
    "log_in",
    "log_out",
    "register",
    "remove_game",
    "unfollow",
    "update_profile",
]


@pytest.fixture
def pins(monkeypatch):
    """The users whose reads each service pinned, in order (core.replicas.record_write)."""
    pinned = []
    monkeypatch.setattr(service_decorator, "record_write", lambda user: pinned.append(user))
    return pinned


# --- Every write is a service, and every service pins ---------------------------------------------


def test_services_every_public_function_is_a_service():
    public = {
        name: value
        for name, value in vars(services).items()
        if inspect.isfunction(value) and not name.startswith("_")
        if value.__module__ == services.__name__
    }

    # A new write is added to this list, and has to be a @service to pass the next line.
    assert sorted(public) == SERVICES
    assert all(getattr(function, "is_service", False) for function in public.values())


@pytest.mark.parametrize("name", SERVICES)
def test_services_take_keyword_arguments_only(name):
    parameters = inspect.signature(getattr(services, name)).parameters.values()

    assert {parameter.kind for parameter in parameters} == {inspect.Parameter.KEYWORD_ONLY}


def test_services_positional_call_refused(user, other_user):
    with pytest.raises(TypeError):
        services.follow(user, other_user)

    assert not Follow.objects.exists()


def test_service_declaration_refuses_positional_parameters():
    with pytest.raises(TypeError, match="keyword arguments only"):

        @service(writer="user")
        def rename(user, name):  # pragma: no cover - never defined
            pass


def test_service_declaration_refuses_an_unknown_writer():
    with pytest.raises(TypeError, match="has no argument 'owner'"):

        @service(writer="owner")
        def rename(*, user, name):  # pragma: no cover - never defined
            pass


def test_services_each_pin_the_user_they_wrote_for(pins, user, other_user):
    game = make_game()
    token = AuthToken.objects.create(user=user)[0]

    new = services.register(username="theo", email="theo@example.com", password=DEFAULT_PASSWORD)
    login = services.log_in(username="madeline", password=DEFAULT_PASSWORD)
    services.update_profile(user=user, bio="Climbing")
    services.follow(follower=user, followee=other_user)
    services.unfollow(follower=user, followee=other_user)
    services.add_game(user=other_user, list_name="played", game=game)
    services.remove_game(user=other_user, list_name="played", game=game)
    services.log_out(user=user, token=token)

    assert [pinned.pk for pinned in pins] == [
        new.user.pk,
        login.user.pk,
        user.pk,
        user.pk,
        user.pk,
        other_user.pk,
        other_user.pk,
        user.pk,
    ]


def test_services_that_fail_pin_nobody(pins, user):
    with pytest.raises(services.SelfFollow):
        services.follow(follower=user, followee=user)
    with pytest.raises(services.LoginRefused):
        services.log_in(username="madeline", password="wrong-password")

    assert pins == []


def test_services_shell_delegates_pin_too(pins, user, other_user):
    user.follow(other_user)
    user.add_game("liked", make_game())

    assert pins == [user, user]


def test_services_write_routes_pin_the_caller(pins, api_client, auth_client, user, other_user):
    # Over HTTP: each write route pins (through its service) the user whose token it answers.
    registered = api_client.post(
        "/api/users/register/",
        {"username": "theo", "email": "theo@example.com", "password": DEFAULT_PASSWORD},
        format="json",
    ).json()
    api_client.post(
        "/api/users/login/", {"username": "madeline", "password": DEFAULT_PASSWORD}, format="json"
    )
    auth_client.post("/api/users/follow/", {"username": "badeline"}, format="json")
    auth_client.post("/api/users/unfollow/", {"username": "badeline"}, format="json")
    auth_client.post("/api/users/profile/madeline", {"bio": "Climbing"}, format="json")
    auth_client.post("/api/users/logout/")

    assert [pinned.pk for pinned in pins] == [registered["user"]["id"], *[user.pk] * 5]


def test_services_a_write_outside_a_service_is_caught(
    auth_client, other_user, monkeypatch, _writes_go_through_services
):
    # What the root conftest's watch does for every test: a view writing through the ORM
    # itself pins nobody, and is reported.
    def follow_by_hand(self, *, follower, followee):
        Follow.objects.bulk_create([Follow(follower=follower, followee=followee)])

    monkeypatch.setattr(FollowView, "apply", follow_by_hand)

    response = auth_client.post("/api/users/follow/", {"username": "badeline"}, format="json")

    assert response.status_code == 200
    violations = list(_writes_go_through_services.violations)
    _writes_go_through_services.violations.clear()
    assert len(violations) == 1
    assert violations[0].startswith("POST /api/users/follow/: INSERT")
    assert '"users_follow"' in violations[0]


# --- register -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_register_service_creates_the_user_and_a_token():
    login = services.register(
        username="Theo", email="Theo@Example.COM", password="climb-the-mountain-42"
    )

    created = User.objects.get()
    assert login.user == created
    assert (created.username, created.email) == ("Theo", "Theo@example.com")
    assert created.check_password("climb-the-mountain-42")
    assert AuthToken.objects.get().user == created
    assert len(login.token) == 64


@pytest.mark.parametrize(
    ("username", "email", "errors"),
    [
        ("MADELINE", "new@example.com", {"username": [USERNAME_TAKEN]}),
        ("theo", "Madeline@Example.com", {"email": [EMAIL_TAKEN]}),
        (
            "madeline",
            "MADELINE@example.com",
            {"username": [USERNAME_TAKEN], "email": [EMAIL_TAKEN]},
        ),
        ("Login", "theo@example.com", {"username": [RESERVED]}),
    ],
)
def test_register_service_refuses_taken_and_reserved_names(user, username, email, errors):
    with pytest.raises(ValidationError) as excinfo:
        services.register(username=username, email=email, password=DEFAULT_PASSWORD)

    assert excinfo.value.message_dict == errors
    assert list(User.objects.all()) == [user]
    assert not AuthToken.objects.exists()


def test_register_service_conflict_it_cannot_name_is_a_non_field_error(user, monkeypatch):
    # An IntegrityError that is neither name: the request may simply be tried again.
    monkeypatch.setattr(UserQuerySet, "by_username", lambda self, name: self.none())
    monkeypatch.setattr(UserQuerySet, "by_email", lambda self, email: self.none())

    with pytest.raises(ValidationError) as excinfo:
        services.register(username="madeline", email="new@example.com", password="x" * 12)

    assert excinfo.value.message_dict == {NON_FIELD_ERRORS: ["Conflict, try again."]}
    # The view's 400 body for it.
    assert field_errors(excinfo.value).detail == {"non_field_errors": ["Conflict, try again."]}


# --- log_in / log_out -----------------------------------------------------------------------------


def test_log_in_service_issues_a_token_and_ignores_case(user):
    login = services.log_in(username="MADELINE", password=DEFAULT_PASSWORD)

    assert login.user == user
    assert AuthToken.objects.get(token_key=login.token[:15]).user == user


@pytest.mark.parametrize(
    ("username", "password"), [("madeline", "wrong-password"), ("nobody", DEFAULT_PASSWORD)]
)
def test_log_in_service_refuses_wrong_credentials(user, username, password):
    with pytest.raises(services.LoginRefused):
        services.log_in(username=username, password=password)

    assert not AuthToken.objects.exists()


def test_log_in_service_refuses_an_inactive_user(db):
    make_user(username="madeline", is_active=False)

    with pytest.raises(services.LoginRefused):
        services.log_in(username="madeline", password=DEFAULT_PASSWORD)


def test_log_in_service_locks_after_the_failure_limit(user, settings):
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = "2/hour"
    for _ in range(2):
        with pytest.raises(services.LoginRefused):
            services.log_in(username="madeline", password="wrong-password")

    with pytest.raises(services.LoginLocked) as excinfo:
        services.log_in(username="Madeline", password=DEFAULT_PASSWORD)

    assert 0 < excinfo.value.wait <= 3600
    assert not AuthToken.objects.exists()


def test_log_in_service_success_gives_its_failure_back(user, settings):
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = "2/hour"
    with pytest.raises(services.LoginRefused):
        services.log_in(username="madeline", password="wrong-password")
    for _ in range(3):
        services.log_in(username="madeline", password=DEFAULT_PASSWORD)

    with pytest.raises(services.LoginRefused):
        services.log_in(username="madeline", password="wrong-password")
    assert AuthToken.objects.filter(user=user).count() == 3


def test_login_serializer_counts_nothing(user, settings):
    # Validating a login's shape (as a shell or a test may, again and again) checks no password
    # and moves no failure counter: only the service does.
    settings.OVERWORLD_THROTTLE_LOGIN_FAILURES = "1/hour"
    for _ in range(3):
        assert LoginSerializer(data={"username": "madeline", "password": "wrong"}).is_valid()

    assert not ThrottleCounter.objects.exists()
    assert services.log_in(username="madeline", password=DEFAULT_PASSWORD).user == user


def test_log_in_service_over_the_token_cap_revokes_the_oldest(user, settings):
    settings.OVERWORLD_TOKEN_LIMIT_PER_USER = 2
    tokens = [services.log_in(username="madeline", password=DEFAULT_PASSWORD) for _ in range(3)]

    live = set(AuthToken.objects.filter(user=user).values_list("token_key", flat=True))
    assert live == {login.token[:15] for login in tokens[1:]}


def test_log_out_service_deletes_only_that_token(user):
    first, _ = AuthToken.objects.create(user=user)
    second, _ = AuthToken.objects.create(user=user)

    services.log_out(user=user, token=first)

    assert list(AuthToken.objects.values_list("pk", flat=True)) == [second.pk]


def test_log_out_service_refuses_someone_elses_token(user, other_user):
    token, _ = AuthToken.objects.create(user=other_user)

    with pytest.raises(ValueError):
        services.log_out(user=user, token=token)

    assert AuthToken.objects.filter(pk=token.pk).exists()


# --- update_profile -------------------------------------------------------------------------------


def test_update_profile_service_writes_only_the_fields_given(user, django_assert_num_queries):
    user.bio, user.location = "I like games", "A Mountain"
    user.save()
    stale = User.objects.get(pk=user.pk)
    stale.location = "Somewhere else"  # another request's change, not saved by this one

    # SAVEPOINT, UPDATE of bio alone, RELEASE.
    with django_assert_num_queries(3) as captured:
        services.update_profile(user=stale, bio="Climbing")

    assert "location" not in captured.captured_queries[1]["sql"]
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.bio, fresh.location) == ("Climbing", "A Mountain")


def test_update_profile_service_blank_and_none_clear(user):
    services.update_profile(user=user, bio="x", location="y", twitter="z")

    services.update_profile(user=user, bio="", location=None, twitter="")

    fresh = User.objects.get(pk=user.pk)
    assert (fresh.bio, fresh.location, fresh.twitter) == (None, None, None)


def test_update_profile_service_normalises_names(user):
    services.update_profile(user=user, username="Madeline", email="Madeline@EXAMPLE.COM")

    fresh = User.objects.get(pk=user.pk)
    assert (fresh.username, fresh.email) == ("Madeline", "Madeline@example.com")


def test_update_profile_service_nothing_given_writes_nothing(user, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert services.update_profile(user=user) is user


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"username": "BADELINE"}, {"username": [USERNAME_TAKEN]}),
        ({"email": "badeline@EXAMPLE.com"}, {"email": [EMAIL_TAKEN]}),
        ({"username": "unfollow"}, {"username": [RESERVED]}),
    ],
)
def test_update_profile_service_refuses_taken_and_reserved(user, other_user, changes, errors):
    with pytest.raises(ValidationError) as excinfo:
        services.update_profile(user=user, bio="kept?", **changes)

    assert excinfo.value.message_dict == errors
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.username, fresh.email, fresh.bio) == ("madeline", "madeline@example.com", None)
    # The instance is left as the database has it, not half-changed.
    assert (user.username, user.email) == ("madeline", "madeline@example.com")


def test_update_profile_service_refuses_unknown_fields(user):
    with pytest.raises(TypeError):
        services.update_profile(user=user, is_staff=True)

    assert not User.objects.get(pk=user.pk).is_staff


# --- follow / unfollow ----------------------------------------------------------------------------


def test_follow_service_follows_once(user, other_user):
    services.follow(follower=user, followee=other_user)
    services.follow(follower=user, followee=other_user)

    assert list(Follow.objects.values_list("follower", "followee")) == [(user.pk, other_user.pk)]


@pytest.mark.parametrize("name", ["follow", "unfollow"])
def test_follow_services_refuse_yourself(user, name):
    with pytest.raises(services.SelfFollow):
        getattr(services, name)(follower=user, followee=user)

    assert not Follow.objects.exists()


def test_unfollow_service_removes_only_that_follow(user, other_user):
    services.follow(follower=user, followee=other_user)
    services.follow(follower=other_user, followee=user)

    services.unfollow(follower=user, followee=other_user)
    services.unfollow(follower=user, followee=other_user)

    assert list(Follow.objects.values_list("follower", "followee")) == [(other_user.pk, user.pk)]


def test_follow_service_is_one_insert(user, other_user, django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        services.follow(follower=user, followee=other_user)

    assert captured.captured_queries[0]["sql"].lstrip().upper().startswith("INSERT")


# --- game lists -----------------------------------------------------------------------------------


def test_add_game_service_by_game_or_igdb_id(user):
    celeste = make_game(igdb="26226", name="Celeste")
    sekiro = make_game(igdb="3030-68907", name="Sekiro")

    assert services.add_game(user=user, list_name="played", game="26226") == celeste
    assert services.add_game(user=user, list_name="played", game=sekiro) == sekiro

    assert list(user.played.order_by("pk")) == [celeste, sekiro]


def test_game_list_services_refuse_unknown_lists_and_games(user):
    game = make_game()

    with pytest.raises(ValueError, match="'followers' is not a game list"):
        services.add_game(user=user, list_name="followers", game=game)
    with pytest.raises(Game.DoesNotExist):
        services.remove_game(user=user, list_name="liked", game="no-such-game")


def test_remove_game_service_takes_it_off_one_list(user):
    game = make_game()
    services.add_game(user=user, list_name="backlog", game=game)
    services.add_game(user=user, list_name="wishlist", game=game)

    services.remove_game(user=user, list_name="backlog", game=game.igdb)

    assert not user.backlog.exists()
    assert list(user.wishlist.all()) == [game]


def test_register_service_hashes_outside_any_transaction(db, monkeypatch):
    seen = []
    real = User.set_password

    def recording(self, raw):
        seen.append(connection.in_atomic_block)
        return real(self, raw)

    monkeypatch.setattr(User, "set_password", recording)

    services.register(username="theo", email="theo@example.com", password=DEFAULT_PASSWORD)

    # pytest-django's transaction around the test is open; nothing more is.
    assert seen == [connection.in_atomic_block]
