from drf_spectacular.utils import extend_schema, extend_schema_view
from knox.views import LogoutView as KnoxLogoutView
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from core.openapi import (
    BODY_ERRORS,
    EMPTY_LIST,
    NOT_FOUND,
    RETRY_AFTER,
    THROTTLED,
    UNAUTHORIZED,
    USERNAME_PATH,
    bad_request,
    detail_response,
)
from core.replicas import read_from_replica
from core.views import MethodCheckedFirst
from users import services
from users.authentication import TokenAuthentication
from users.models import User
from users.permissions import IsProfileOwnerOrReadOnly
from users.profile_document import profile_document
from users.profile_response import profile_response
from users.serializers import (
    FollowSerializer,
    LoginResponseSerializer,
    LoginSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    RegisterSerializer,
    UserSerializer,
)
from users.throttling import AuthRateThrottle

PROFILE_COLUMNS = ("id", "username", "email", "bio", "location", "twitter")

# Follow and unfollow take and answer the same shapes.
FOLLOW_RESPONSES = {
    200: EMPTY_LIST,
    400: bad_request("Follow", FollowSerializer),
    401: UNAUTHORIZED,
    404: NOT_FOUND,
    **BODY_ERRORS,
}


@extend_schema_view(
    get=extend_schema(
        operation_id="current_user",
        summary="The caller",
        responses={200: UserSerializer, 401: UNAUTHORIZED},
    )
)
class CurrentUserView(MethodCheckedFirst, generics.RetrieveAPIView):
    """GET /api/users/user/ (token): the caller as `{id, username, email}`."""

    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self):
        return self.request.user


def auth_entry_schema(operation_id: str, summary: str, serializer_class, component: str):
    """The schema of register and login: same answers, their own request body and 400."""
    return extend_schema_view(
        post=extend_schema(
            operation_id=operation_id,
            summary=summary,
            parameters=[RETRY_AFTER],
            responses={
                200: LoginResponseSerializer,
                400: bad_request(component, serializer_class),
                **BODY_ERRORS,
                429: THROTTLED,
            },
        )
    )


class AuthEntryView(MethodCheckedFirst, generics.GenericAPIView):
    """Shared by register and login: public, throttled per client, answers `{user, token}`.

    They ignore any Authorization header, so a client holding a stale token can still log in.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]
    throttle_scope = "auth"

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        login = self.enter(request, **serializer.validated_data)
        return Response({"user": UserSerializer(login.user).data, "token": login.token})

    def enter(self, request, **data) -> services.Login:
        raise NotImplementedError


@auth_entry_schema("register", "Create an account and get a token", RegisterSerializer, "Register")
class RegisterView(AuthEntryView):
    """POST /api/users/register/ (public): create an account; 200 `{user, token}`."""

    serializer_class = RegisterSerializer

    def enter(self, request, **data) -> services.Login:
        return services.register(request=request, **data)


@auth_entry_schema("login", "Log in: a new token", LoginSerializer, "Login")
class LoginView(AuthEntryView):
    """POST /api/users/login/ (public): exchange username and password for a new token."""

    serializer_class = LoginSerializer

    def enter(self, request, **data) -> services.Login:
        return services.log_in(request=request, **data)


@extend_schema_view(
    post=extend_schema(
        operation_id="logout",
        summary="Log out: revoke this token",
        request=None,
        responses={204: None, 401: UNAUTHORIZED},
    )
)
class LogoutView(MethodCheckedFirst, KnoxLogoutView):
    """POST /api/users/logout/ (token): destroy the token of this request; 204."""

    authentication_classes = [TokenAuthentication]

    def post(self, request, format=None):
        # knox's own, with the write in the service.
        services.log_out(user=request.user, token=request.auth, request=request)
        return self.get_post_response(request)


@extend_schema_view(
    get=extend_schema(
        operation_id="profile",
        summary="A user's profile",
        parameters=[USERNAME_PATH],
        responses={200: ProfileSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
)
class ProfileView(MethodCheckedFirst, generics.GenericAPIView):
    """GET /api/users/<username> (public): the user's profile (users.profile_document builds it)."""

    # The documented shape (the schema); the document itself comes from users.profile_document.
    serializer_class = ProfileSerializer
    permission_classes = [AllowAny]

    def get(self, request, username):
        # Reading needs no object permission (both views allow safe methods to anyone). The
        # token was looked up on the primary before this; only the document may come from a
        # replica (core.replicas), and a 404 there may be a user it has not replayed yet.
        document = read_from_replica(
            request.user,
            lambda: document_or_404(username=username, viewer=request.user),
            confirm_on_primary=(NotFound,),
        )
        return profile_response(request, document)

    def get_object(self) -> User:
        user = User.objects.by_username(self.kwargs["username"]).only(*PROFILE_COLUMNS).first()
        if user is None:
            raise NotFound()
        self.check_object_permissions(self.request, user)
        return user


def document_or_404(**lookup) -> bytes:
    """users.profile_document's bytes, or 404 when there is no such user."""
    document = profile_document(**lookup)
    if document is None:
        raise NotFound()
    return document


@extend_schema_view(
    get=extend_schema(
        operation_id="profile_read",
        summary="A user's profile (same as GET /api/users/{username})",
        parameters=[USERNAME_PATH],
        responses={200: ProfileSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND},
    )
)
class ProfileUpdateView(ProfileView):
    """GET /api/users/profile/<username> (public) reads the profile;
    POST (token, owner only) updates username, email, bio, location and twitter and answers
    the updated profile."""

    permission_classes = [IsAuthenticatedOrReadOnly, IsProfileOwnerOrReadOnly]

    @extend_schema(
        operation_id="profile_update",
        summary="Update your own profile",
        parameters=[USERNAME_PATH],
        request=ProfileUpdateSerializer,
        responses={
            200: ProfileSerializer,
            400: bad_request("ProfileUpdate", ProfileUpdateSerializer),
            401: UNAUTHORIZED,
            403: detail_response("Someone else's profile: `You can only update your own profile.`"),
            404: NOT_FOUND,
            **BODY_ERRORS,
        },
    )
    def post(self, request, username):
        # 404 for nobody, 403 for someone else (the permissions), then 400 for the body.
        user = self.get_object()
        update = ProfileUpdateSerializer(user, data=request.data, partial=True)
        update.is_valid(raise_exception=True)
        services.update_profile(user=user, **update.validated_data)
        # The caller's own write, read back on the primary (no replica scope here); a 404 only
        # if someone deleted the account in between.
        return profile_response(request, document_or_404(user_id=user.pk, viewer=request.user))


class FollowView(MethodCheckedFirst, generics.GenericAPIView):
    """POST /api/users/follow/ (token) `{"username"}`: follow that user; 200 `[]`."""

    serializer_class = FollowSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="follow", summary="Follow a user", responses=FOLLOW_RESPONSES)
    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = User.objects.by_username(serializer.validated_data["username"]).first()
        if target is None:
            raise NotFound()
        self.apply(follower=request.user, followee=target)
        return Response([])

    def apply(self, **users: User) -> None:
        services.follow(**users)


@extend_schema_view(
    post=extend_schema(
        operation_id="unfollow",
        summary="Stop following a user",
        request=FollowSerializer,
        responses=FOLLOW_RESPONSES,
    )
)
class UnfollowView(FollowView):
    """POST /api/users/unfollow/ (token) `{"username"}`: stop following that user; 200 `[]`."""

    def apply(self, **users: User) -> None:
        services.unfollow(**users)
