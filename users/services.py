"""Every write of the users app, one keyword-only function each: register, log in, log out,
update a profile, follow, unfollow, add and remove games.

A service takes validated data (the serializers check shapes) and owns its business rules:
uniqueness regardless of case mapped to field errors, reserved usernames, the token cap, the
login-failure limit, no following yourself. It raises Django's ValidationError or its own
exceptions (core.errors.ApplicationError, each naming its HTTP answer); core.errors' exception
handler is the one place that turns them into 400 and 429, so no view catches them.
`@service` records the read-your-writes pin of the user each one writes for
(core.service_decorator), so no view has to remember it.

The shell reaches the same functions through one-line delegates on `User` (README, "Developer
shell"): `kevin.follow(badeline)` is `follow(follower=kevin, followee=badeline)`.
"""

from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from knox.models import AuthToken
from rest_framework import exceptions
from rest_framework.settings import api_settings

from core.errors import ApplicationError
from core.service_decorator import service
from games.models import Game
from users.models import (
    EMAIL_TAKEN,
    GAME_LISTS,
    USERNAME_TAKEN,
    Follow,
    User,
    validate_username_not_reserved,
)
from users.throttling import LoginFailureLimit

# Cleared by None or "".
CLEARABLE_FIELDS = ("bio", "location", "twitter")

# "Not sent" for update_profile's optional fields (None is a value there: it clears the field).
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()


class Login(NamedTuple):
    """What register and log_in give: the user and their new knox token."""

    user: User
    token: str


class LoginRefused(ApplicationError):
    """Wrong username, wrong password or an inactive user: one answer for all three (400)."""

    def api_exception(self) -> exceptions.APIException:
        return exceptions.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: ["Incorrect username/password."]}
        )


class LoginLocked(ApplicationError):
    """Too many failed logins to this username in the current window (LoginFailureLimit): 429."""

    def __init__(self, wait: int):
        super().__init__(f"Too many failed logins; try again in {wait} s.")
        self.wait = wait

    def api_exception(self) -> exceptions.APIException:
        return exceptions.Throttled(wait=self.wait)


class SelfFollow(ApplicationError, ValueError):
    """Following or unfollowing yourself: 400 on `username`, with the message given."""

    def api_exception(self) -> exceptions.APIException:
        return exceptions.ValidationError({"username": [str(self)]})


# --- Accounts and tokens ------------------------------------------------------------------------


@service(writer=lambda login: login.user)
def register(
    *, username: str, email: str, password: str, request: HttpRequest | None = None
) -> Login:
    """Create an account and log it in.

    Raises ValidationError({"username": [...], "email": [...]}) for a name or email taken
    regardless of case (also when a concurrent registration wins the race) or a reserved name.
    """
    user = User(
        username=User.normalize_username(username),
        email=User.objects.normalize_email(email),
    )
    _refuse_reserved(user.username)
    # Hash before any transaction opens: ~0.2 s of CPU that must not hold a lock.
    user.set_password(password)
    _save_unique(user)
    return Login(user=user, token=_issue_token(user=user, request=request))


@service(writer=lambda login: login.user)
def log_in(*, username: str, password: str, request: HttpRequest | None = None) -> Login:
    """A new token for the user with this username (case ignored) and password.

    Raises LoginLocked once the username has had OVERWORLD_THROTTLE_LOGIN_FAILURES failures in
    the window, from whatever clients (the right password included, and nothing is hashed);
    LoginRefused for a wrong password, an unknown or an inactive user, which ModelBackend times
    alike (it hashes for unknown users too). A success gives its reserved failure back.
    """
    failures = LoginFailureLimit(username)
    if not failures.reserve():
        raise LoginLocked(wait=failures.wait)
    user = authenticate(request, username=username, password=password)
    if user is None:
        raise LoginRefused()
    failures.release()
    return Login(user=user, token=_issue_token(user=user, request=request))


@service(writer="user")
def log_out(*, user: User, token: AuthToken, request: HttpRequest | None = None) -> None:
    """Revoke this one token of `user` (knox's logout); their other tokens stay valid."""
    if token.user_id != user.pk:
        raise ValueError("A user can only revoke their own tokens.")
    token.delete()
    user_logged_out.send(sender=user.__class__, request=request, user=user)


def _issue_token(*, user: User, request: HttpRequest | None) -> str:
    """Issue a new knox token for `user` and return it; the caller's other tokens stay valid.

    At most OVERWORLD_TOKEN_LIMIT_PER_USER tokens live at once: logging in on one device too
    many revokes the oldest session rather than refusing the new one. The user row is locked so
    that concurrent logins cannot leave more tokens than the cap.
    """
    limit = settings.OVERWORLD_TOKEN_LIMIT_PER_USER
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        _instance, token = AuthToken.objects.create(user=user)
        newest = user.auth_token_set.order_by("-created", "-pk").values_list("pk", flat=True)
        user.auth_token_set.exclude(pk__in=list(newest[:limit])).delete()
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return token


# --- The profile --------------------------------------------------------------------------------


@service(writer="user")
def update_profile(
    *,
    user: User,
    username: str = UNSET,
    email: str = UNSET,
    bio: str | None = UNSET,
    location: str | None = UNSET,
    twitter: str | None = UNSET,
) -> User:
    """Change the fields given (and only those: concurrent updates of others survive).

    None or "" clears bio, location and twitter. Raises ValidationError as `register` does for
    a taken or reserved username or a taken email; the user is then unchanged in the database.
    """
    sent = {
        "username": username,
        "email": email,
        "bio": bio,
        "location": location,
        "twitter": twitter,
    }
    changes = {field: value for field, value in sent.items() if value is not UNSET}
    if "username" in changes:
        changes["username"] = User.normalize_username(changes["username"])
        _refuse_reserved(changes["username"])
    if "email" in changes:
        changes["email"] = User.objects.normalize_email(changes["email"])
    for field in CLEARABLE_FIELDS:
        # NULL, not "", is "never set": a cleared field reads back as null.
        if changes.get(field) == "":
            changes[field] = None
    if not changes:
        return user
    previous = {field: getattr(user, field) for field in changes}
    for field, value in changes.items():
        setattr(user, field, value)
    try:
        _save_unique(user, update_fields=list(changes))
    except ValidationError:
        for field, value in previous.items():
            setattr(user, field, value)
        raise
    return user


def _refuse_reserved(username: str) -> None:
    try:
        validate_username_not_reserved(username)
    except ValidationError as exc:
        raise ValidationError({"username": exc.messages}) from exc


def _save_unique(user: User, **save_kwargs) -> None:
    """Save `user`, turning a lost uniqueness race into the validation error it stands for.

    A check before the write cannot see a concurrent request that registers the same name a
    moment later; the database constraint can. Its error is mapped back to the field message.
    """
    try:
        with transaction.atomic():
            user.save(**save_kwargs)
    except IntegrityError as exc:
        others = User.objects.exclude(pk=user.pk) if user.pk else User.objects.all()
        errors = {}
        if others.by_username(user.username).exists():
            errors["username"] = [USERNAME_TAKEN]
        if others.by_email(user.email).exists():
            errors["email"] = [EMAIL_TAKEN]
        raise ValidationError(errors or {NON_FIELD_ERRORS: ["Conflict, try again."]}) from exc


# --- Follows ------------------------------------------------------------------------------------


@service(writer="follower")
def follow(*, follower: User, followee: User) -> None:
    """`follower` follows `followee`; following someone already followed changes nothing."""
    if followee.pk == follower.pk:
        # SQLite's INSERT OR IGNORE would also swallow the check constraint: refuse here so
        # both databases behave alike.
        raise SelfFollow("You cannot follow yourself.")
    # ignore_conflicts makes the unique constraint absorb a concurrent duplicate instead of
    # raising, so two simultaneous follows leave exactly one row.
    Follow.objects.bulk_create(
        [Follow(follower=follower, followee=followee)], ignore_conflicts=True
    )


@service(writer="follower")
def unfollow(*, follower: User, followee: User) -> None:
    """`follower` stops following `followee`; unfollowing someone not followed changes nothing."""
    if followee.pk == follower.pk:
        raise SelfFollow("You cannot unfollow yourself.")
    Follow.objects.filter(follower=follower, followee=followee).delete()


# --- Game lists ---------------------------------------------------------------------------------


@service(writer="user")
def add_game(*, user: User, list_name: str, game: Game | str | int) -> Game:
    """Put `game` (a Game or its IGDB id) on one of the four lists; returns the game.

    Adding a game already on the list changes nothing. Raises ValueError for a list that is not
    one of GAME_LISTS, Game.DoesNotExist for an unknown IGDB id.
    """
    game = _resolve_game(list_name, game)
    getattr(user, list_name).add(game)
    return game


@service(writer="user")
def remove_game(*, user: User, list_name: str, game: Game | str | int) -> Game:
    """Take `game` (a Game or its IGDB id) off one of the four lists; returns the game."""
    game = _resolve_game(list_name, game)
    getattr(user, list_name).remove(game)
    return game


def _resolve_game(list_name: str, game: Game | str | int) -> Game:
    if list_name not in GAME_LISTS:
        raise ValueError(f"{list_name!r} is not a game list: one of {', '.join(GAME_LISTS)}.")
    return game if isinstance(game, Game) else Game.objects.get(igdb=str(game))
