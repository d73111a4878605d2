"""Closed by default: DRF's permission default is IsAuthenticated, and the public routes say
AllowAny themselves. What an anonymous client gets from every route is pinned here."""

import re

import pytest
from django.conf import settings
from django.urls import get_resolver
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from users.tests.factories import DEFAULT_PASSWORD, make_user

NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}

# (method, path, body) -> status for a client without a token. Every route of the URLconf is
# here (test_permissions_every_route_is_pinned).
ANONYMOUS = [
    ("GET", "/api/users/user/", None, 401),
    ("GET", "/api/users/madeline", None, 200),
    ("GET", "/api/users/madeline/", None, 200),
    ("GET", "/api/users/nobody", None, 404),
    ("POST", "/api/users/madeline", {}, 405),
    ("GET", "/api/users/profile/madeline", None, 200),
    ("GET", "/api/users/profile/nobody", None, 404),
    ("POST", "/api/users/profile/madeline", {"bio": "x"}, 401),
    ("POST", "/api/users/profile/nobody", {"bio": "x"}, 401),
    ("POST", "/api/users/register/", {"username": "theo"}, 400),
    (
        "POST",
        "/api/users/register/",
        {"username": "theo", "email": "theo@example.com", "password": "climb-the-mountain-42"},
        200,
    ),
    ("GET", "/api/users/register/", None, 405),
    ("POST", "/api/users/login/", {"username": "madeline", "password": "wrong"}, 400),
    ("POST", "/api/users/login/", {"username": "madeline", "password": DEFAULT_PASSWORD}, 200),
    ("POST", "/api/users/logout/", None, 401),
    ("POST", "/api/users/follow/", {"username": "madeline"}, 401),
    ("POST", "/api/users/unfollow/", {"username": "madeline"}, 401),
    ("GET", "/api/users/follow/", None, 405),
    ("GET", "/api/schema/", None, 200),
    ("GET", "/api/docs/", None, 200),
    ("GET", "/healthz", None, 200),
    ("GET", "/readyz", None, 200),
    # Off without OVERWORLD_METRICS_TOKEN, and a 404 without its bearer token when on.
    ("GET", "/metrics", None, 404),
    ("GET", "/admin/", None, 302),
]


def test_permissions_default_is_authenticated():
    assert settings.REST_FRAMEWORK["DEFAULT_PERMISSION_CLASSES"] == [
        "rest_framework.permissions.IsAuthenticated"
    ]


@pytest.mark.django_db
def test_permissions_a_view_that_says_nothing_needs_a_token():
    class Undeclared(APIView):
        def get(self, request):
            return Response({"secret": True})

    response = Undeclared.as_view()(APIRequestFactory().get("/new/"))

    assert response.status_code == 401
    assert response.data == NO_CREDENTIALS


@pytest.mark.parametrize(("method", "path", "body", "expected"), ANONYMOUS)
@pytest.mark.django_db
def test_permissions_anonymous_statuses_per_route(api_client, method, path, body, expected):
    make_user(username="madeline")

    send = getattr(api_client, method.lower())
    response = send(path, body, format="json") if body is not None else send(path)

    assert response.status_code == expected
    if expected == 401:
        assert response.json() == NO_CREDENTIALS


def test_permissions_every_route_is_pinned():
    pinned = {path for _method, path, _body, _status in ANONYMOUS}
    patterns = []

    def walk(resolver, prefix=""):
        for entry in resolver.url_patterns:
            route = prefix + str(entry.pattern)
            if hasattr(entry, "url_patterns"):
                if not route.startswith("admin/"):
                    walk(entry, route)
            else:
                patterns.append(route)

    walk(get_resolver())

    for pattern in patterns:
        regex = re.compile(pattern.replace("^", "").replace("$", "") + "$")
        assert any(regex.fullmatch(path.lstrip("/")) for path in pinned), pattern
