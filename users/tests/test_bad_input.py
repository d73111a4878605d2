"""Bad input on every route answers a 4xx JSON object of the contract's shape, never a 5xx.

Each case names the route and the input; the fuzz run in overworld/tests/test_fuzz.py covers
the same ground with generated requests.
"""

import json

import pytest
from rest_framework import status
from rest_framework.test import APIClient

from users.models import User
from users.tests.shapes import is_error_body

# (path, needs a token): every route that takes a body.
POST_ROUTES = [
    ("/api/users/register/", False),
    ("/api/users/login/", False),
    ("/api/users/follow/", True),
    ("/api/users/unfollow/", True),
    ("/api/users/profile/madeline", True),
]
POST_ROUTE_IDS = [path.rsplit("/", 2)[-2] or path for path, _ in POST_ROUTES]

# Every route, with the methods it answers.
ROUTES = [
    ("/api/users/user/", {"GET"}),
    ("/api/users/register/", {"POST"}),
    ("/api/users/login/", {"POST"}),
    ("/api/users/logout/", {"POST"}),
    ("/api/users/follow/", {"POST"}),
    ("/api/users/unfollow/", {"POST"}),
    ("/api/users/madeline", {"GET"}),
    ("/api/users/profile/madeline", {"GET", "POST"}),
]

FIVE_MB = 5 * 1024 * 1024


@pytest.fixture
def clients(auth_client, other_user):
    """An anonymous client and one logged in as madeline; badeline exists to be followed."""
    return {False: APIClient(), True: auth_client}


# --- Malformed and mistyped JSON ----------------------------------------------------------------


@pytest.mark.parametrize(("path", "needs_token"), POST_ROUTES, ids=POST_ROUTE_IDS)
@pytest.mark.parametrize(
    "body", [b"{", b'{"username": }', b"{'username': 'x'}", b"NaN", b"\xff\xfe{}", b'{"a": 1}x']
)
def test_post_route_malformed_json_answers_400(clients, path, needs_token, body):
    response = clients[needs_token].generic("POST", path, body, content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"].startswith("JSON parse error - ")


@pytest.mark.parametrize(("path", "needs_token"), POST_ROUTES, ids=POST_ROUTE_IDS)
@pytest.mark.parametrize("body", ["[]", '["username"]', "42", '"madeline"', "null", "true"])
def test_post_route_json_that_is_not_an_object_answers_400(clients, path, needs_token, body):
    response = clients[needs_token].generic("POST", path, body, content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert list(response.json()) == ["non_field_errors"]
    assert is_error_body(response.json())


@pytest.mark.parametrize(("path", "needs_token"), POST_ROUTES, ids=POST_ROUTE_IDS)
@pytest.mark.parametrize("value", [["madeline"], {"name": "madeline"}, True, {}, []])
def test_post_route_non_string_username_answers_400(clients, path, needs_token, value):
    body = {"username": value, "email": "new@example.com", "password": "a-long-passphrase"}

    response = clients[needs_token].post(path, body, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json()["username"] == ["Not a valid string."]


@pytest.mark.parametrize("path", ["/api/users/register/", "/api/users/login/"])
@pytest.mark.parametrize("value", [None, ["x"], {"x": 1}, False])
def test_auth_entry_non_string_password_answers_400(api_client, db, path, value):
    body = {"username": "someone", "email": "someone@example.com", "password": value}

    response = api_client.post(path, body, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert is_error_body(response.json())
    assert "password" in response.json()
    assert not User.objects.filter(username="someone").exists()


@pytest.mark.parametrize("field", ["bio", "location", "twitter", "email", "username"])
@pytest.mark.parametrize("value", [["x"], {"x": "y"}, True])
def test_profile_update_non_string_field_answers_400_and_changes_nothing(
    auth_client, user, field, value
):
    before = User.objects.values().get(pk=user.pk)

    response = auth_client.post(
        f"/api/users/profile/{user.username}", {field: value}, format="json"
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert list(response.json()) == [field]
    assert is_error_body(response.json())
    assert User.objects.values().get(pk=user.pk) == before


def test_register_null_fields_answer_400(api_client, db):
    body = {"username": None, "email": None, "password": None}

    response = api_client.post("/api/users/register/", body, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {
        "username": ["This field may not be null."],
        "email": ["This field may not be null."],
        "password": ["This field may not be null."],
    }


# --- NUL bytes, surrogates and invalid UTF-8 -----------------------------------------------------


@pytest.mark.parametrize(("path", "needs_token"), POST_ROUTES, ids=POST_ROUTE_IDS)
@pytest.mark.parametrize("text", ["bad\x00line", "\x00", "bad\ud800line"])
def test_post_route_nul_or_surrogate_in_username_answers_400(clients, path, needs_token, text):
    body = {"username": text, "email": "nul@example.com", "password": "a-long-passphrase"}
    # ensure_ascii keeps the lone surrogate encodable: it travels as the JSON escape \ud800.
    payload = json.dumps(body)

    response = clients[needs_token].generic("POST", path, payload, content_type="application/json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    messages = response.json()["username"]
    assert (
        "Null characters are not allowed." in messages
        or "Surrogate characters are not allowed: U+D800." in messages
    )


@pytest.mark.parametrize("field", ["bio", "location", "twitter", "email"])
def test_profile_update_nul_in_field_answers_400_and_changes_nothing(auth_client, user, field):
    before = User.objects.values().get(pk=user.pk)

    response = auth_client.post(f"/api/users/profile/{user.username}", {field: "a\x00b"}, "json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert list(response.json()) == [field]
    assert "Null characters are not allowed." in response.json()[field]
    assert User.objects.values().get(pk=user.pk) == before


def test_login_nul_in_password_answers_400(api_client, user):
    body = {"username": "madeline", "password": "correct\x00horse"}

    response = api_client.post("/api/users/login/", body, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response.json() == {"password": ["Null characters are not allowed."]}


@pytest.mark.parametrize(
    "path",
    [
        "/api/users/made%00line",
        "/api/users/%00",
        "/api/users/madeline%00/",
        "/api/users/%ff",
        "/api/users/%ed%a0%80",  # a UTF-8-encoded lone surrogate
        "/api/users/profile/made%00line",
        "/api/users/profile/%ff%fe",
        "/api/users/" + "a" * 151,
        "/api/users/profile/" + "a" * 151,
        "/api/users/a/b",
        "/api/users/%2e%2e%2fadmin",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_path_that_cannot_be_a_username_answers_404(auth_client, path, method):
    response = auth_client.generic(method, path, "{}", content_type="application/json")

    assert response.status_code == status.HTTP_404_NOT_FOUND
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(("path", "needs_token"), POST_ROUTES, ids=POST_ROUTE_IDS)
def test_post_route_invalid_utf8_in_form_body_answers_4xx(clients, path, needs_token):
    body = b"username=bad%ffline&email=x%fe%40example.com&password=a\xff\xfe-long-one"

    response = clients[needs_token].generic(
        "POST", path, body, content_type="application/x-www-form-urlencoded"
    )

    # Django decodes forms with errors="replace": the U+FFFD it leaves is no username.
    assert response.status_code in (status.HTTP_400_BAD_REQUEST, status.HTTP_404_NOT_FOUND)
    assert is_error_body(response.json())


# --- Overlong strings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field", "message"),
    [
        ("/api/users/register/", {"username": "a" * 10_000}, "username", 150),
        ("/api/users/register/", {"email": "a" * 10_000 + "@example.com"}, "email", 254),
        ("/api/users/register/", {"password": "p" * 100_000}, "password", 1024),
        ("/api/users/login/", {"username": "a" * 10_000}, "username", 150),
        ("/api/users/login/", {"password": "p" * 100_000}, "password", 1024),
        ("/api/users/follow/", {"username": "a" * 10_000}, "username", 150),
        ("/api/users/unfollow/", {"username": "a" * 10_000}, "username", 150),
        ("/api/users/profile/madeline", {"bio": "b" * 256}, "bio", 255),
        ("/api/users/profile/madeline", {"location": "l" * 51}, "location", 50),
        ("/api/users/profile/madeline", {"twitter": "t" * 16}, "twitter", 15),
        ("/api/users/profile/madeline", {"username": "u" * 151}, "username", 150),
    ],
)
def test_post_route_overlong_string_answers_400(auth_client, path, body, field, message):
    response = auth_client.post(path, body, format="json")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert f"Ensure this field has no more than {message} characters." in response.json()[field]


# --- Oversized bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "needs_token"), POST_ROUTES, ids=POST_ROUTE_IDS)
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b"],
)
def test_post_route_five_megabyte_body_answers_413(clients, path, needs_token, content_type):
    body = b'{"username": "' + b"a" * FIVE_MB + b'"}'

    response = clients[needs_token].generic("POST", path, body, content_type=content_type)

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is too large."}


def test_multipart_five_megabyte_file_answers_413(auth_client):
    upload = b'--b\r\nContent-Disposition: form-data; name="f"; filename="x.bin"\r\n\r\n'
    body = upload + b"\0" * FIVE_MB + b"\r\n--b--\r\n"

    response = auth_client.generic(
        "POST", "/api/users/profile/madeline", body, content_type="multipart/form-data; boundary=b"
    )

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is too large."}


def test_get_route_five_megabyte_body_answers_413(api_client, user):
    response = api_client.generic("GET", "/api/users/madeline", b"x" * FIVE_MB, "text/plain")

    assert response.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    assert response.json() == {"detail": "Request body is too large."}


# --- Authorization headers -----------------------------------------------------------------------

GARBAGE_TOKENS = [
    "Token",
    "Token ",
    "Token a b",
    "Token \x00",
    "Token " + "0" * 63 + "\x00",
    "Token " + "\xff\xfe" * 32,  # bytes that are not UTF-8, as a WSGI server hands them over
    "Token " + "a" * 63,
    "Token " + "A" * 64,
    "Token " + "0" * 1000,
    "Token \u2603",  # not even latin-1: only a test client can send it, still no 500
    "token " + "0" * 64,
]


@pytest.mark.parametrize(("path", "methods"), ROUTES, ids=[p for p, _ in ROUTES])
@pytest.mark.parametrize("header", GARBAGE_TOKENS)
def test_route_garbage_token_answers_401_except_on_register_and_login(
    user, other_user, path, methods, header
):
    client = APIClient(HTTP_AUTHORIZATION=header)
    method = sorted(methods)[0]

    response = client.generic(method, path, "{}", content_type="application/json")

    if path.endswith(("register/", "login/")):
        # They ignore the header: the empty body is what they answer for.
        assert response.status_code == status.HTTP_400_BAD_REQUEST
        assert "username" in response.json()
    else:
        assert response.status_code == status.HTTP_401_UNAUTHORIZED
        assert response["WWW-Authenticate"] == "Token"
        assert is_error_body(response.json())
        assert set(response.json()) == {"detail"}


@pytest.mark.parametrize("header", ["Bearer abc", "Basic bWFkZWxpbmU6eA==", "\x00", "\xff"])
def test_public_profile_foreign_scheme_reads_as_anonymous(user, header):
    client = APIClient(HTTP_AUTHORIZATION=header)

    response = client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_200_OK
    assert "me" not in response.json()


@pytest.mark.parametrize("header", ["Bearer abc", "Basic bWFkZWxpbmU6eA==", "\x00"])
def test_current_user_foreign_scheme_answers_401(user, header):
    client = APIClient(HTTP_AUTHORIZATION=header)

    response = client.get("/api/users/user/")

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Authentication credentials were not provided."}


# --- Methods and media types ---------------------------------------------------------------------


UNSUPPORTED = [
    (path, methods, method)
    for path, methods in ROUTES
    for method in ["PUT", "PATCH", "DELETE", "GET", "POST", "TRACE", "FROB"]
    if method not in methods
]


@pytest.mark.parametrize(("path", "methods", "method"), UNSUPPORTED)
def test_route_unsupported_method_answers_405_with_allow(auth_client, path, methods, method):
    response = auth_client.generic(method, path)

    assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED
    assert response.json() == {"detail": f'Method "{method}" not allowed.'}
    allowed = {m.strip() for m in response["Allow"].split(",")}
    assert methods <= allowed


@pytest.mark.parametrize(("path", "needs_token"), POST_ROUTES, ids=POST_ROUTE_IDS)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/octet-stream", "foo"]
)
def test_post_route_unsupported_media_type_answers_415(clients, path, needs_token, content_type):
    response = clients[needs_token].generic("POST", path, b"username=x", content_type=content_type)

    assert response.status_code == status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    media = content_type.split(";")[0]
    assert response.json() == {"detail": f'Unsupported media type "{media}" in request.'}


@pytest.mark.parametrize(("path", "needs_token"), POST_ROUTES, ids=POST_ROUTE_IDS)
def test_post_route_unknown_charset_answers_400(clients, path, needs_token):
    response = clients[needs_token].generic(
        "POST", path, b"{}", content_type="application/json; charset=bz2_codec"
    )

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert is_error_body(response.json())


@pytest.mark.parametrize(
    "content_type", ["multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed"]
)
def test_follow_broken_multipart_answers_4xx(auth_client, other_user, content_type):
    response = auth_client.generic("POST", "/api/users/follow/", b"--x\r\n", content_type)

    assert response.status_code in (
        status.HTTP_400_BAD_REQUEST,
        status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    )
    assert is_error_body(response.json())


def test_register_form_encoded_body_is_accepted(api_client, db):
    body = {"username": "theo", "email": "theo@example.com", "password": "selfie-at-the-summit"}

    response = api_client.post("/api/users/register/", body)  # multipart, the test client's default

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["user"]["username"] == "theo"


def test_login_form_urlencoded_body_is_accepted(api_client, user):
    response = api_client.generic(
        "POST",
        "/api/users/login/",
        "username=madeline&password=correct-horse-battery",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == status.HTTP_200_OK
    assert response.json()["user"]["username"] == "madeline"


def test_follow_multipart_body_is_accepted(auth_client, user, other_user):
    response = auth_client.post("/api/users/follow/", {"username": "badeline"}, format="multipart")

    assert response.status_code == status.HTTP_200_OK
    assert response.json() == []
    assert list(user.following.all()) == [other_user]


def test_profile_update_form_body_is_accepted(auth_client, user):
    response = auth_client.generic(
        "POST",
        "/api/users/profile/madeline",
        "bio=I+like+games&location=",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == status.HTTP_200_OK
    user.refresh_from_db()
    assert (user.bio, user.location) == ("I like games", None)


# --- Host header ---------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example.com", "localhost\x00", "[::1", "a" * 300])
def test_disallowed_host_answers_400_json(db, host):
    client = APIClient(HTTP_HOST=host)

    response = client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_400_BAD_REQUEST
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Bad request."}
