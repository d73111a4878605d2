from django.contrib.auth import password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Value
from django.db.models.functions import Lower
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from users.models import (
    BIO_MAX_LENGTH,
    EMAIL_TAKEN,
    LOCATION_MAX_LENGTH,
    TWITTER_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    USERNAME_TAKEN,
    User,
    validate_username_not_reserved,
)

# Long enough for any passphrase, short enough that hashing it is no denial of service.
PASSWORD_MAX_LENGTH = 1024


class CaseInsensitiveUniqueValidator(UniqueValidator):
    """DRF's UniqueValidator, comparing with the same LOWER() as the database constraint."""

    def filter_queryset(self, value, queryset, field_name):
        return queryset.alias(_value_ci=Lower(field_name)).filter(_value_ci=Lower(Value(value)))


class UsernameField(serializers.CharField):
    """A username in the form it is stored in: NFKC-normalized (as `User.normalize_username`
    stores it) before its length and characters are checked, so that a name that grows or
    changes when normalized ("ﷺ" is 18 characters in NFKC, "½" is "1⁄2") is refused with a
    field error instead of failing in the database."""

    def to_internal_value(self, data):
        return User.normalize_username(super().to_internal_value(data))


def username_field(**kwargs) -> serializers.CharField:
    return UsernameField(
        max_length=USERNAME_MAX_LENGTH,
        validators=[
            UnicodeUsernameValidator(),
            validate_username_not_reserved,
            CaseInsensitiveUniqueValidator(User.objects.all(), message=USERNAME_TAKEN),
        ],
        **kwargs,
    )


def email_field(**kwargs) -> serializers.EmailField:
    return serializers.EmailField(
        max_length=254,
        validators=[CaseInsensitiveUniqueValidator(User.objects.all(), message=EMAIL_TAKEN)],
        **kwargs,
    )


class UserSerializer(serializers.Serializer):
    """The public identity of a user: `{id, username, email}`, read-only.

    Declared fields rather than a ModelSerializer: those derive their fields from the model on
    every instantiation, ~0.3 ms of the ~2.3 ms of CPU that GET user/ costs in-process.
    """

    id = serializers.IntegerField(read_only=True)
    username = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)

    def to_representation(self, instance: User) -> dict:
        # The declared fields above are the documented shape; writing the three values out
        # skips deep-copying those fields for every instance (~0.1 ms of GET user/'s CPU).
        return {"id": instance.pk, "username": instance.username, "email": instance.email}


class RegisterSerializer(serializers.Serializer):
    username = username_field()
    email = email_field()
    password = serializers.CharField(
        write_only=True,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        style={"input_type": "password"},
    )

    def validate_password(self, value: str) -> str:
        # Checked at field level, so a weak password is reported beside a taken username rather
        # than after it is fixed. The similarity check compares with what the client sent.
        sent = {
            key: self.initial_data[key]
            for key in ("username", "email")
            if isinstance(self.initial_data.get(key), str)
        }
        try:
            password_validation.validate_password(value, user=User(**sent))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc
        return value


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(
        write_only=True,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        style={"input_type": "password"},
    )


class LoginResponseSerializer(serializers.Serializer):
    """What register and login answer: the user and a new knox token."""

    user = UserSerializer()
    token = serializers.CharField()


class ProfileUpdateSerializer(serializers.Serializer):
    """The allow-list of a profile update: any other key in the body is ignored."""

    # Shapes only: users.services.update_profile normalises the names, clears a "" bio,
    # location or twitter, and maps a lost uniqueness race to these fields' messages.

    username = username_field(required=False)
    email = email_field(required=False)
    bio = serializers.CharField(
        max_length=BIO_MAX_LENGTH, required=False, allow_null=True, allow_blank=True
    )
    location = serializers.CharField(
        max_length=LOCATION_MAX_LENGTH, required=False, allow_null=True, allow_blank=True
    )
    twitter = serializers.CharField(
        max_length=TWITTER_MAX_LENGTH, required=False, allow_null=True, allow_blank=True
    )


class FollowSerializer(serializers.Serializer):
    """The user to follow or unfollow, by username (case ignored)."""

    # Shapes only: whether that user exists (404) is the view's, whether it is the caller
    # (400) the service's.

    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)


class GameSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    igdb = serializers.CharField()
    name = serializers.CharField()


class ProfileSerializer(serializers.Serializer):
    """A user's public profile: the twelve keys below in this order, always; for an
    authenticated caller two more follow, `me` (the caller) and `followingUser` (whether the
    caller follows this user)."""

    # It describes the shape for the OpenAPI schema and nothing else: the document itself is
    # built by the database in one query (users.profile_document), and nothing serializes a
    # user through this class.

    id = serializers.IntegerField()
    username = serializers.CharField()
    # null for everyone but the owner when OVERWORLD_PROFILE_EMAIL=owner.
    email = serializers.EmailField(allow_null=True)
    bio = serializers.CharField(allow_null=True)
    location = serializers.CharField(allow_null=True)
    twitter = serializers.CharField(allow_null=True)
    played = GameSerializer(many=True)
    liked = GameSerializer(many=True)
    backlog = GameSerializer(many=True)
    wishlist = GameSerializer(many=True)
    following = serializers.ListField(child=serializers.IntegerField())
    followers = serializers.ListField(child=serializers.IntegerField())
    me = UserSerializer(required=False)
    followingUser = serializers.BooleanField(required=False)  # noqa: N815 - the frontend's key
