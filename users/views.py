from knox.views import LogoutView as KnoxLogoutView
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from users.authentication import TokenAuthentication
from users.models import User
from users.permissions import IsProfileOwnerOrReadOnly
from users.serializers import (
    FollowSerializer,
    LoginSerializer,
    ProfileSerializer,
    ProfileUpdateSerializer,
    RegisterSerializer,
    UnfollowSerializer,
    UserSerializer,
)
from users.services import log_in
from users.throttling import AuthRateThrottle

PROFILE_COLUMNS = ("id", "username", "email", "bio", "location", "twitter")


class CurrentUserView(generics.RetrieveAPIView):
    """GET /api/users/user/ (token): the caller as `{id, username, email}`."""

    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated]

    def get_object(self):
        return self.request.user


class AuthEntryView(generics.GenericAPIView):
    """Shared by register and login: public, throttled per client, answers `{user, token}`.

    They ignore any Authorization header, so a client holding a stale token can still log in.
    """

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthRateThrottle]
    throttle_scope = "auth"

    def token_response(self, user: User) -> Response:
        token = log_in(request=self.request, user=user)
        return Response({"user": UserSerializer(user).data, "token": token})


class RegisterView(AuthEntryView):
    """POST /api/users/register/ (public): create an account; 200 `{user, token}`."""

    serializer_class = RegisterSerializer

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.token_response(serializer.save())


class LoginView(AuthEntryView):
    """POST /api/users/login/ (public): exchange username and password for a new token."""

    serializer_class = LoginSerializer

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self.token_response(serializer.validated_data["user"])


class LogoutView(KnoxLogoutView):
    """POST /api/users/logout/ (token): destroy the token of this request; 204."""

    authentication_classes = [TokenAuthentication]


class ProfileView(generics.RetrieveAPIView):
    """GET /api/users/<username> (public): the user's profile."""

    serializer_class = ProfileSerializer

    def get_object(self) -> User:
        user = User.objects.by_username(self.kwargs["username"]).only(*PROFILE_COLUMNS).first()
        if user is None:
            raise NotFound()
        self.check_object_permissions(self.request, user)
        return user


class ProfileUpdateView(ProfileView):
    """GET /api/users/profile/<username> (public) reads the profile;
    POST (token, owner only) updates username, email, bio, location and twitter and answers
    the updated profile."""

    permission_classes = [IsAuthenticatedOrReadOnly, IsProfileOwnerOrReadOnly]

    def post(self, request, username):
        user = self.get_object()
        update = ProfileUpdateSerializer(user, data=request.data, partial=True)
        update.is_valid(raise_exception=True)
        update.save()
        return Response(self.get_serializer(user).data)


class FollowView(generics.GenericAPIView):
    """POST /api/users/follow/ (token) `{"username"}`: follow that user; 200 `[]`."""

    serializer_class = FollowSerializer
    permission_classes = [IsAuthenticated]

    def post(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.apply(request.user, serializer.validated_data["username"])
        return Response([])

    def apply(self, user: User, target: User) -> None:
        user.follow(target)


class UnfollowView(FollowView):
    """POST /api/users/unfollow/ (token) `{"username"}`: stop following that user; 200 `[]`."""

    serializer_class = UnfollowSerializer

    def apply(self, user: User, target: User) -> None:
        user.unfollow(target)
