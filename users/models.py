import json

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower
from django.db.models.lookups import In

from games.models import Game

# Route words under /api/users/: a user named "login" would be shadowed by the login route.
# "logoutall" is the original Overworld backend's log-out-everywhere route (knox's LogoutAllView):
# not served, but kept free so that adding it later shadows nobody.
# "." and ".." are path segments that browsers and curl collapse before sending the request, so
# /api/users/.. could never reach its owner's profile.
RESERVED_USERNAMES = (
    ".",
    "..",
    "follow",
    "login",
    "logout",
    "logoutall",
    "profile",
    "register",
    "unfollow",
    "user",
)

USERNAME_MAX_LENGTH = 150
BIO_MAX_LENGTH = 255
LOCATION_MAX_LENGTH = 50
TWITTER_MAX_LENGTH = 15

# The four game lists of a profile, in the order the profile shows them.
GAME_LISTS = ("played", "liked", "backlog", "wishlist")

USERNAME_TAKEN = "A user with that username already exists."
EMAIL_TAKEN = "A user with that email already exists."


def validate_username_not_reserved(value: str) -> None:
    if value.lower() in RESERVED_USERNAMES:
        raise ValidationError("This username is reserved.", code="reserved")


class UserQuerySet(models.QuerySet):
    def by_username(self, username: str) -> "UserQuerySet":
        """Users whose username equals `username` regardless of case.

        Both sides are lowered by the database, the same function the unique index uses, so a
        lookup and the constraint can never disagree about what counts as the same name.
        """
        return self.alias(username_ci=Lower("username")).filter(
            username_ci=Lower(models.Value(username))
        )

    def by_email(self, email: str) -> "UserQuerySet":
        return self.alias(email_ci=Lower("email")).filter(email_ci=Lower(models.Value(email)))

    def get_by_username(self, username: str) -> "User":
        """The user named `username` regardless of case, as every API lookup finds them.

        `User.objects.get_by_username("THEO")` is theo; raises `User.DoesNotExist` otherwise.
        """
        return self.by_username(username).get()


class UserManager(DjangoUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        # ModelBackend authenticates through this, which makes login ignore case.
        return self.get_by_username(username)


class User(AbstractUser):
    username = models.CharField(
        "username",
        max_length=USERNAME_MAX_LENGTH,
        unique=True,
        help_text="150 characters or fewer. Letters, digits and @/./+/-/_ only.",
        validators=[UnicodeUsernameValidator(), validate_username_not_reserved],
        error_messages={"unique": USERNAME_TAKEN},
    )
    email = models.EmailField("email address", max_length=254)
    # NULL, not "", is "never set": the contract answers null for these, and a single empty
    # value keeps "cleared" and "never set" the same fact.
    bio = models.CharField(max_length=BIO_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    location = models.CharField(max_length=LOCATION_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    twitter = models.CharField(max_length=TWITTER_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001

    following = models.ManyToManyField(
        "self",
        through="Follow",
        through_fields=("follower", "followee"),
        symmetrical=False,
        related_name="followers",
        blank=True,
    )
    played = models.ManyToManyField(Game, related_name="played_by", blank=True)
    liked = models.ManyToManyField(Game, related_name="liked_by", blank=True)
    backlog = models.ManyToManyField(Game, related_name="backlogged_by", blank=True)
    wishlist = models.ManyToManyField(Game, related_name="wishlisted_by", blank=True)

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="users_user_username_ci_unique",
                violation_error_message=USERNAME_TAKEN,
            ),
            models.UniqueConstraint(
                Lower("email"),
                name="users_user_email_ci_unique",
                violation_error_message=EMAIL_TAKEN,
            ),
            models.CheckConstraint(
                condition=~models.Q(In(Lower("username"), list(RESERVED_USERNAMES))),
                name="users_user_username_not_reserved",
                violation_error_message="This username is reserved.",
            ),
        ]

    # --- The developer shell's verbs (README, "Developer shell") -------------------------------
    # One-line delegates to users.services (every write) and users.profile_document (the one
    # read). Both modules import this one, and this one must not import them back: it is what
    # Django loads first, and services and the read are built on it. So each delegate imports
    # its module when it is called, never when this module loads (see docs/development.md).

    def follow(self, other: "User") -> None:
        """Follow `other`; following someone already followed changes nothing."""
        from users import services

        services.follow(follower=self, followee=other)

    def unfollow(self, other: "User") -> None:
        """Stop following `other`; unfollowing someone not followed changes nothing."""
        from users import services

        services.unfollow(follower=self, followee=other)

    def add_game(self, list_name: str, game: "Game | str | int") -> Game:
        """Put `game` (a Game or its IGDB id) on one of the four lists; returns the game.

        `user.add_game("played", "18099")`. Adding a game already on the list changes nothing.
        Raises ValueError for a list that is not one of GAME_LISTS, Game.DoesNotExist for an
        unknown IGDB id.
        """
        from users import services

        return services.add_game(user=self, list_name=list_name, game=game)

    def remove_game(self, list_name: str, game: "Game | str | int") -> Game:
        """Take `game` (a Game or its IGDB id) off one of the four lists; returns the game."""
        from users import services

        return services.remove_game(user=self, list_name=list_name, game=game)

    def profile(self, viewer: "User | None" = None) -> dict:
        """This user's profile exactly as `GET /api/users/<username>` answers it to `viewer`.

        Anonymous (the default): the twelve public keys; a viewer adds `me` and `followingUser`.
        """
        from users.profile_document import profile_document

        return json.loads(profile_document(user_id=self.pk, viewer=viewer))


class Follow(models.Model):
    """`follower` follows `followee`: the one row behind both `following` and `followers`."""

    # No single-column indexes: the unique (follower, followee) index serves lookups by follower,
    # the (followee, id, follower) one lookups by followee.
    follower = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="following_links", db_index=False
    )
    followee = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="follower_links", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # A profile's followers in follow order, read from the index alone: a 100k-follower
            # profile needs neither a sort nor a heap visit (docs/performance.md).
            models.Index(fields=["followee", "id", "follower"], name="users_follow_followers"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["follower", "followee"], name="users_follow_unique"),
            models.CheckConstraint(
                condition=~models.Q(follower=models.F("followee")),
                name="users_follow_not_self",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.follower_id} follows {self.followee_id}"
