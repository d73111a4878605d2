"""Property-based fuzz run over every route: generated requests never get a 5xx.

Hypothesis generates methods, paths (usernames with NUL, lone surrogates, any Unicode, 200+
characters, raw bytes), headers (Authorization, Content-Type, Accept as a WSGI server hands them
over: latin-1 text) and bodies (recursive JSON, JSON objects with the routes' own keys, form
bodies, raw bytes, text with NUL and surrogates, bodies over the size limit). Each request goes
through the whole middleware stack in-process. Every answer must:

- not be a 5xx;
- be JSON (except HEAD and 204), and a contract error shape when it is an error;
- carry a status the contract documents for the route it reached (docs/api.md).

The runs are derandomized, so CI sends the same requests every time; the conftest prints how
many went out ("fuzz: N requests, 0 server errors").
"""

import json
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlencode

import pytest
from django.conf import settings
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from knox.models import AuthToken
from rest_framework.test import APIClient

from games.tests.factories import make_game
from users.tests.factories import make_user
from users.tests.shapes import is_error_body


def fuzz_settings(max_examples: int) -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        # The fixtures (users, games) are made once per test and shared by its examples.
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


# What each route answers, from the contract: {method: statuses}. Any route answers 405 (with
# Allow) to a method it lacks, whatever the token, 413 to a body over the limit and OPTIONS with
# 200; every route that reads a token can answer 401, and register/login can answer 429.
ROUTES = {
    "current-user": {"GET": {200, 401}},
    "register": {"POST": {200, 400, 415, 429}},
    "login": {"POST": {200, 400, 415, 429}},
    "logout": {"POST": {204, 401}},
    "follow": {"POST": {200, 400, 401, 404, 415}},
    "unfollow": {"POST": {200, 400, 401, 404, 415}},
    "profile": {"GET": {200, 401, 404}},
    "profile-update": {"GET": {200, 401, 404}, "POST": {200, 400, 401, 403, 404, 415}},
}
READS_NO_TOKEN = {"register", "login"}
FIXED_PATHS = {
    "current-user": "user",
    "register": "register",
    "login": "login",
    "logout": "logout",
    "follow": "follow",
    "unfollow": "unfollow",
}
BODY_KEYS = ["username", "email", "password", "bio", "location", "twitter"]
HOSTILE_KEYS = ["id", "is_staff", "is_superuser", "password", "followers", "played", "token"]

# --- Strategies ----------------------------------------------------------------------------------

NASTY = ["\x00", "\ud800", "\udfff", "\ufeff", "\u202e", "%", "/", ".", "\n", " ", "é", "😀"]
any_char = st.one_of(st.characters(exclude_categories=()), st.sampled_from(NASTY))
any_text = st.text(any_char, max_size=40)
long_text = st.integers(min_value=151, max_value=2000).map(lambda n: "a" * n)
latin1_text = st.text(st.characters(max_codepoint=255), max_size=80)

known_names = st.sampled_from(["madeline", "MADELINE", "badeline", "BadeLine", "nobody", "user"])
username_chars = st.text(
    st.sampled_from("abcXYZ019_.@+-é"), min_size=1, max_size=20
)  # valid-looking names, most of them unknown
usernames = st.one_of(known_names, username_chars, any_text, long_text)

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(),
        any_text,
        long_text,
        known_names,
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)
field_objects = st.dictionaries(
    st.one_of(st.sampled_from(BODY_KEYS + HOSTILE_KEYS), any_text), json_values, max_size=8
)


def to_utf8(text: str) -> bytes:
    # A lone surrogate cannot be UTF-8; surrogatepass makes the invalid bytes a client could send.
    return text.encode("utf-8", "surrogatepass")


json_bodies = st.one_of(
    st.builds(lambda v, a: to_utf8(json.dumps(v, ensure_ascii=a)), json_values, st.booleans()),
    st.builds(lambda v, a: to_utf8(json.dumps(v, ensure_ascii=a)), field_objects, st.booleans()),
)
form_bodies = st.dictionaries(st.sampled_from(BODY_KEYS + HOSTILE_KEYS), any_text, max_size=6).map(
    lambda d: urlencode({k: to_utf8(v) for k, v in d.items()}).encode()
)
multipart_bodies = st.dictionaries(st.sampled_from(BODY_KEYS), any_text, max_size=4).map(
    lambda d: (
        b"".join(
            b'--b\r\nContent-Disposition: form-data; name="'
            + k.encode()
            + b'"\r\n\r\n'
            + to_utf8(v)
            for k, v in d.items()
        )
        + b"--b--\r\n"
    )
)
bodies = st.one_of(
    json_bodies,
    form_bodies,
    multipart_bodies,
    st.binary(max_size=200),
    any_text.map(to_utf8),
    st.just(b""),
    st.just(b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)),
)
content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "application/json; charset=latin-1",
            "application/json; charset=bz2_codec",
            "application/json; charset=nonsense",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b",
            "multipart/form-data",
            "text/plain",
            "application/xml",
            "",
        ]
    ),
    latin1_text,
)
accepts = st.one_of(
    st.none(),
    st.sampled_from(["application/json", "*/*", "text/html", "application/json; q=abc", "*/*;;"]),
    latin1_text,
)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"]
methods = st.one_of(
    st.sampled_from(METHODS), st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), min_size=1)
)
# "valid" is swapped for a fresh, live token of madeline when the request is sent.
authorizations = st.one_of(
    st.none(),
    st.just("valid"),
    st.builds(lambda t: f"Token {t}", latin1_text),
    st.builds(lambda t: f"Token {t}", st.text("0123456789abcdef", max_size=80)),
    st.builds(lambda s, t: f"{s} {t}", st.sampled_from(["Bearer", "Basic", "token"]), latin1_text),
    latin1_text,
)


@st.composite
def paths(draw) -> str:
    """A path under /api/, percent-encoded from the bytes a client would send."""
    segment = draw(usernames).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        segment = draw(st.binary(max_size=30))
    slash = draw(st.sampled_from(["", "/"]))
    kind = draw(st.sampled_from(["fixed", "profile", "profile-update", "other"]))
    if kind == "fixed":
        return f"/api/users/{draw(st.sampled_from(sorted(FIXED_PATHS.values())))}{slash}"
    quoted = quote_from_bytes(segment, safe="")
    if kind == "profile":
        return f"/api/users/{quoted}{slash}"
    if kind == "profile-update":
        return f"/api/users/profile/{quoted}{slash}"
    return draw(st.sampled_from(["/api/", "/api/users/", "/api/users/profile/", "/"])) + quoted


# --- Sending and checking ------------------------------------------------------------------------


@pytest.fixture
def world(settings):
    """madeline (with games on her lists) and badeline; the auth throttle out of the way."""
    # Throttled answers would hide what register and login do with the generated bodies.
    rest = {**settings.REST_FRAMEWORK}
    rest["DEFAULT_THROTTLE_RATES"] = {**rest["DEFAULT_THROTTLE_RATES"], "auth": "100000/min"}
    settings.REST_FRAMEWORK = rest
    madeline = make_user(username="madeline", email="madeline@example.com")
    badeline = make_user(username="badeline", email="badeline@example.com")
    madeline.played.add(make_game(igdb="18099", name="Pokémon Moon"), make_game())
    madeline.wishlist.add(make_game(igdb="3030-68907"))
    madeline.follow(badeline)
    # One client for every example: each new one loads the middleware stack again (~10x the
    # cost of a request). It holds no credentials or cookies; each request brings its headers.
    madeline.client = APIClient(raise_request_exception=False)
    return madeline


def route_of(path: str) -> str | None:
    """The name of the route Django dispatches `path` to, decoded as Django decodes it."""
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return None  # Django keeps such bytes percent-encoded: no route has a "%".
    try:
        return resolve(decoded).url_name
    except Resolver404:
        return None


def allowed_statuses(route: str | None, method: str) -> set[int]:
    if route is None:
        return {404}
    answers = ROUTES[route]
    if method == "HEAD" and "GET" in answers:
        method = "GET"
    if method == "OPTIONS":
        statuses = {200}
    elif method not in answers:
        return {405}  # checked before the token and the throttle (core.views)
    else:
        statuses = set(answers[method])
    if route not in READS_NO_TOKEN:
        statuses.add(401)
    else:
        statuses.add(429)
    return statuses


def send(world, fuzz_stats, *, method, path, body, content_type, authorization, accept):
    headers = {}
    if authorization == "valid":
        _instance, token = AuthToken.objects.create(user=world)
        authorization = f"Token {token}"
    if authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    if accept is not None:
        headers["HTTP_ACCEPT"] = accept
    response = world.client.generic(method, path, body, content_type=content_type, **headers)

    fuzz_stats["requests"] += 1
    fuzz_stats["statuses"][response.status_code] = (
        fuzz_stats["statuses"].get(response.status_code, 0) + 1
    )
    if response.status_code >= 500:
        fuzz_stats["server_errors"] += 1
    case = f"{method} {path!r} {content_type!r} auth={authorization!r} accept={accept!r}"
    assert response.status_code < 500, case

    route = route_of(path)
    if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        assert response.status_code == 413, case
    else:
        assert response.status_code in allowed_statuses(route, method), (route, case)

    if response.status_code == 405:
        assert response.has_header("Allow"), case
    if response.status_code == 401:
        assert response["WWW-Authenticate"] == "Token", case
    if response.status_code == 429:
        assert response.has_header("Retry-After"), case
    if method == "HEAD" or response.status_code == 204:
        return
    assert response["Content-Type"] == "application/json", case
    data = json.loads(response.content)
    if response.status_code >= 400:
        assert is_error_body(data), (case, data)
    elif method == "OPTIONS":
        assert isinstance(data, dict), case
    elif route in ("follow", "unfollow"):
        assert data == [], case
    elif route in ("register", "login"):
        assert set(data) == {"user", "token"}, case
    else:
        assert isinstance(data, dict) and "id" in data, case


# --- The fuzz tests ------------------------------------------------------------------------------


@pytest.mark.django_db
@fuzz_settings(1000)
@given(
    method=methods,
    path=paths(),
    body=bodies,
    content_type=content_types,
    authorization=authorizations,
    accept=accepts,
)
def test_fuzz_any_request_gets_a_documented_json_answer(
    world, fuzz_stats, method, path, body, content_type, authorization, accept
):
    send(
        world,
        fuzz_stats,
        method=method,
        path=path,
        body=body,
        content_type=content_type,
        authorization=authorization,
        accept=accept,
    )


BODY_ROUTES = [
    "/api/users/register/",
    "/api/users/login",
    "/api/users/follow/",
    "/api/users/unfollow",
    "/api/users/profile/madeline",
    "/api/users/profile/badeline/",
]


@pytest.mark.django_db
@fuzz_settings(1200)
@given(
    path=st.sampled_from(BODY_ROUTES),
    body=st.one_of(json_bodies, form_bodies, multipart_bodies),
    authorization=st.one_of(st.just("valid"), authorizations),
    data=st.data(),
)
def test_fuzz_post_bodies_get_a_documented_json_answer(
    world, fuzz_stats, path, body, authorization, data
):
    # The content type that matches the body most of the time, so that the parsers and the
    # serializers see the generated values rather than a 415.
    if body.startswith(b"--b"):
        content_type = "multipart/form-data; boundary=b"
    elif body[:1] in (b"{", b"[", b'"') or body[:1].isdigit():
        content_type = "application/json"
    else:
        content_type = "application/x-www-form-urlencoded"
    content_type = data.draw(st.one_of(st.just(content_type), content_types), "content_type")
    send(
        world,
        fuzz_stats,
        method="POST",
        path=path,
        body=body,
        content_type=content_type,
        authorization=authorization,
        accept=None,
    )


@pytest.mark.django_db
@fuzz_settings(600)
@given(
    method=st.sampled_from(["GET", "POST", "HEAD"]),
    prefix=st.sampled_from(["/api/users/", "/api/users/profile/"]),
    username=usernames,
    authorization=authorizations,
)
def test_fuzz_usernames_in_paths_get_a_documented_json_answer(
    world, fuzz_stats, method, prefix, username, authorization
):
    path = prefix + quote_from_bytes(username.encode("utf-8", "surrogatepass"), safe="")
    send(
        world,
        fuzz_stats,
        method=method,
        path=path,
        body=b'{"bio": "fuzzed"}',
        content_type="application/json",
        authorization=authorization,
        accept=None,
    )
