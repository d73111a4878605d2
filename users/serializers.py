import json

from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Lower
from rest_framework import serializers
from rest_framework.exceptions import NotFound
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
from users.selectors import profile_document
from users.throttling import LoginFailureLimit

# Long enough for any passphrase, short enough that hashing it is no denial of service.
PASSWORD_MAX_LENGTH = 1024


class CaseInsensitiveUniqueValidator(UniqueValidator):
    """DRF's UniqueValidator, comparing with the same LOWER() as the database constraint."""

    def filter_queryset(self, value, queryset, field_name):
        return queryset.alias(_value_ci=Lower(field_name)).filter(_value_ci=Lower(Value(value)))


def username_field(**kwargs) -> serializers.CharField:
    return serializers.CharField(
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


def save_unique(user: User, **save_kwargs) -> None:
    """Save `user`, turning a lost uniqueness race into the validation error it stands for.

    The serializer's checks cannot see a concurrent request that registers the same name a
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
        conflict = errors or {"non_field_errors": ["Conflict, try again."]}
        raise serializers.ValidationError(conflict) from exc


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

    def create(self, validated_data) -> User:
        user = User(
            username=User.normalize_username(validated_data["username"]),
            email=User.objects.normalize_email(validated_data["email"]),
        )
        # Hash before any transaction opens: ~0.2 s of CPU that must not hold a lock.
        user.set_password(validated_data["password"])
        save_unique(user)
        return user


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)
    password = serializers.CharField(
        write_only=True,
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        style={"input_type": "password"},
    )

    default_error_messages = {"invalid_login": "Incorrect username/password."}

    def validate(self, attrs):
        # 429 once this username has had too many failures, from whatever clients.
        failures = LoginFailureLimit(attrs["username"])
        failures.reserve()
        # The same answer for an unknown user, a wrong password and an inactive user;
        # ModelBackend also hashes for unknown users so their timing matches.
        user = authenticate(
            self.context.get("request"), username=attrs["username"], password=attrs["password"]
        )
        if user is None:
            self.fail("invalid_login")
        failures.release()
        attrs["user"] = user
        return attrs


class LoginResponseSerializer(serializers.Serializer):
    """What register and login answer: the user and a new knox token."""

    user = UserSerializer()
    token = serializers.CharField()


class ProfileUpdateSerializer(serializers.ModelSerializer):
    """The allow-list of a profile update: any other key in the body is ignored."""

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

    class Meta:
        model = User
        fields = ["username", "email", "bio", "location", "twitter"]

    def validate_username(self, value: str) -> str:
        return User.normalize_username(value)

    def validate_email(self, value: str) -> str:
        return User.objects.normalize_email(value)

    def validate(self, attrs):
        # "" clears a text field the same way null does: never set and cleared look alike.
        for field in ("bio", "location", "twitter"):
            if field in attrs and attrs[field] == "":
                attrs[field] = None
        return attrs

    def update(self, instance: User, validated_data) -> User:
        for field, value in validated_data.items():
            setattr(instance, field, value)
        # Only the fields sent are written, so concurrent updates of other fields survive.
        if validated_data:
            save_unique(instance, update_fields=list(validated_data))
        return instance


class FollowSerializer(serializers.Serializer):
    """Resolves `username` to the user to follow: 404 for nobody, 400 for the caller."""

    username = serializers.CharField(max_length=USERNAME_MAX_LENGTH)

    self_message = "You cannot follow yourself."

    def validate_username(self, value: str) -> User:
        target = User.objects.by_username(value).first()
        if target is None:
            raise NotFound()
        if target.pk == self.context["request"].user.pk:
            raise serializers.ValidationError(self.self_message)
        return target


class UnfollowSerializer(FollowSerializer):
    self_message = "You cannot unfollow yourself."


class GameSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    igdb = serializers.CharField()
    name = serializers.CharField()


class ProfileSerializer(serializers.Serializer):
    """A user's public profile: the twelve keys below in this order, always; for an
    authenticated caller two more follow, `me` (the caller) and `followingUser` (whether the
    caller follows this user)."""

    # The declared fields document the shape (and feed the OpenAPI schema). The document
    # itself is built by the database in one query: users.selectors.profile_document.

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

    def to_representation(self, user: User) -> dict:
        # The shell and other Python callers get the very document the API sends.
        request = self.context.get("request")
        document = profile_document(user_id=user.pk, caller=getattr(request, "user", None))
        return json.loads(document)
