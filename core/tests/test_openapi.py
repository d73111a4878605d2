"""The OpenAPI schema at /api/schema/ against the responses the API really gives.

Each case below is a real request to one route; its response must have a status documented for
that operation and a body valid against the documented schema. Together the cases exercise every
documented (path, method, status), so nothing in the schema is a guess.
"""

import json
import re
from dataclasses import dataclass, field

import pytest
from jsonschema import Draft202012Validator
from knox.models import AuthToken
from rest_framework import status
from rest_framework.test import APIClient

from games.models import Game

JSON = "application/json"
TOO_LARGE = b'{"username": "' + b"a" * (1024 * 1024 + 1) + b'"}'
VALID_REGISTER = {"username": "theo", "email": "theo@example.com", "password": "selfie-summit-42"}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    template: str
    expected: int
    auth: str | None = None  # "token": madeline's token; "bad": a token that does not exist
    body: object = None
    raw: bytes | None = None
    content_type: str = JSON
    throttle: str | None = None  # the auth rate for this request; it is sent twice
    headers: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


def case(name, method, path, template, expected, **kwargs) -> Case:
    return Case(name, method, path, template, expected, **kwargs)


USER = "/api/users/user/"
REGISTER = "/api/users/register/"
LOGIN = "/api/users/login/"
LOGOUT = "/api/users/logout/"
FOLLOW = "/api/users/follow/"
UNFOLLOW = "/api/users/unfollow/"
PROFILE = "/api/users/{username}"
PROFILE_RW = "/api/users/profile/{username}"


def body_cases(prefix: str, path: str, template: str, auth: str | None) -> list[Case]:
    """What a bad body does to a route that reads one."""
    return [
        case(f"{prefix}-malformed-json", "POST", path, template, 400, auth=auth, raw=b'{"user'),
        case(f"{prefix}-not-an-object", "POST", path, template, 400, auth=auth, body=["x"]),
        case(f"{prefix}-too-large", "POST", path, template, 413, auth=auth, raw=TOO_LARGE),
        case(
            f"{prefix}-text-plain",
            "POST",
            path,
            template,
            415,
            auth=auth,
            raw=b"username=theo",
            content_type="text/plain",
        ),
    ]


CASES = [
    # GET user/
    case("user-ok", "GET", USER, USER, 200, auth="token"),
    case("user-no-slash", "GET", "/api/users/user", USER, 200, auth="token"),
    case("user-anonymous", "GET", USER, USER, 401),
    case("user-bad-token", "GET", USER, USER, 401, auth="bad"),
    # POST register/
    case("register-ok", "POST", REGISTER, REGISTER, 200, body=VALID_REGISTER),
    case(
        "register-form-encoded",
        "POST",
        "/api/users/register",
        REGISTER,
        200,
        raw=b"username=theo&email=theo%40example.com&password=selfie-summit-42",
        content_type="application/x-www-form-urlencoded",
    ),
    case(
        "register-taken",
        "POST",
        REGISTER,
        REGISTER,
        400,
        body={**VALID_REGISTER, "username": "MADELINE", "email": "madeline@example.com"},
    ),
    case(
        "register-weak-password",
        "POST",
        REGISTER,
        REGISTER,
        400,
        body={**VALID_REGISTER, "password": "12345678"},
    ),
    case("register-empty", "POST", REGISTER, REGISTER, 400, body={}),
    case(
        "register-ignores-token", "POST", REGISTER, REGISTER, 200, auth="bad", body=VALID_REGISTER
    ),
    *body_cases("register", REGISTER, REGISTER, None),
    case("register-throttled", "POST", REGISTER, REGISTER, 429, body={}, throttle="1/min"),
    # POST login/
    case(
        "login-ok",
        "POST",
        LOGIN,
        LOGIN,
        200,
        body={"username": "Madeline", "password": "correct-horse-battery"},
    ),
    case(
        "login-wrong-password",
        "POST",
        LOGIN,
        LOGIN,
        400,
        body={"username": "madeline", "password": "wrong-password"},
    ),
    case("login-empty", "POST", LOGIN, LOGIN, 400, body={}),
    *body_cases("login", LOGIN, LOGIN, None),
    case("login-throttled", "POST", LOGIN, LOGIN, 429, body={}, throttle="1/min"),
    # POST logout/
    case("logout-ok", "POST", LOGOUT, LOGOUT, 204, auth="token"),
    case("logout-anonymous", "POST", "/api/users/logout", LOGOUT, 401),
    case("logout-bad-token", "POST", LOGOUT, LOGOUT, 401, auth="bad"),
    # GET <username>
    case("profile-anonymous", "GET", "/api/users/madeline", PROFILE, 200),
    case("profile-slash-other-case", "GET", "/api/users/BADELINE/", PROFILE, 200),
    case("profile-authenticated", "GET", "/api/users/badeline", PROFILE, 200, auth="token"),
    case("profile-bad-token", "GET", "/api/users/madeline", PROFILE, 401, auth="bad"),
    case("profile-unknown", "GET", "/api/users/nobody", PROFILE, 404),
    # GET and POST profile/<username>
    case("profile-read-ok", "GET", "/api/users/profile/madeline", PROFILE_RW, 200),
    case(
        "profile-read-authenticated",
        "GET",
        "/api/users/profile/madeline/",
        PROFILE_RW,
        200,
        auth="token",
    ),
    case("profile-read-bad-token", "GET", "/api/users/profile/x", PROFILE_RW, 401, auth="bad"),
    case("profile-read-unknown", "GET", "/api/users/profile/nobody", PROFILE_RW, 404),
    case(
        "profile-update-ok",
        "POST",
        "/api/users/profile/madeline",
        PROFILE_RW,
        200,
        auth="token",
        body={"bio": "I like games", "location": "A Mountain", "twitter": None, "is_staff": True},
    ),
    case(
        "profile-update-invalid",
        "POST",
        "/api/users/profile/madeline",
        PROFILE_RW,
        400,
        auth="token",
        body={"twitter": "x" * 16, "email": "not-an-email", "username": "login"},
    ),
    *body_cases("profile-update", "/api/users/profile/madeline", PROFILE_RW, "token"),
    case("profile-update-anonymous", "POST", "/api/users/profile/madeline", PROFILE_RW, 401),
    case(
        "profile-update-someone-else",
        "POST",
        "/api/users/profile/badeline/",
        PROFILE_RW,
        403,
        auth="token",
        body={"bio": "mine now"},
    ),
    case(
        "profile-update-unknown",
        "POST",
        "/api/users/profile/nobody",
        PROFILE_RW,
        404,
        auth="token",
        body={"bio": "hello"},
    ),
]
for _verb, _path in (("follow", FOLLOW), ("unfollow", UNFOLLOW)):
    CASES += [
        case(f"{_verb}-ok", "POST", _path, _path, 200, auth="token", body={"username": "badeline"}),
        case(f"{_verb}-missing", "POST", _path, _path, 400, auth="token", body={"username": ""}),
        case(
            f"{_verb}-self", "POST", _path, _path, 400, auth="token", body={"username": "madeline"}
        ),
        case(f"{_verb}-anonymous", "POST", _path, _path, 401, body={"username": "badeline"}),
        case(
            f"{_verb}-unknown", "POST", _path, _path, 404, auth="token", body={"username": "nobody"}
        ),
        *body_cases(_verb, _path, _path, "token"),
    ]


@pytest.fixture(scope="module")
def openapi() -> dict:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == status.HTTP_200_OK
    return json.loads(response.content)


def send(client: APIClient, case: Case):
    data = case.raw if case.raw is not None else json.dumps(case.body) if case.body else None
    return client.generic(case.method, case.path, data=data or "", content_type=case.content_type)


def response_schema(openapi: dict, case: Case, status_code: int) -> dict | None:
    """The documented body schema of `status_code` for the case's operation; None: no body."""
    operation = openapi["paths"][case.template][case.method.lower()]
    documented = operation["responses"]
    assert str(status_code) in documented, f"{case}: {status_code} is not documented"
    content = documented[str(status_code)].get("content")
    return None if content is None else content[JSON]["schema"]


def assert_conforms(openapi: dict, case: Case, response) -> None:
    schema = response_schema(openapi, case, response.status_code)
    if schema is None:
        assert response.content == b""
        return
    assert response["Content-Type"] == JSON
    # The schema's $refs point into #/components: give the validator the components as its root.
    validator = Draft202012Validator({**schema, "components": openapi["components"]})
    errors = [error.message for error in validator.iter_errors(response.json())]
    assert errors == [], f"{case}: {response.json()}"


@pytest.mark.parametrize("case", CASES, ids=str)
def test_schema_response_conforms(case, openapi, settings, user, other_user):
    if case.throttle:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"auth": case.throttle},
        }
    # Something in each game list and a follow each way, so the profile lists are not all empty.
    game = Game.objects.create(igdb="3030-68907", name="Celeste")
    for game_list in (user.played, user.liked, user.backlog, user.wishlist):
        game_list.add(game)
    other_user.follow(user)
    user.follow(other_user)

    client = APIClient()
    if case.auth == "token":
        client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    elif case.auth == "bad":
        client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 64)

    pattern = re.escape(case.template).replace(r"\{username\}", r"[^/]+").removesuffix("/")
    assert re.fullmatch(pattern + "/?", case.path), f"{case.path} is not {case.template}"

    responses = [send(client, case)] if not case.throttle else [send(client, case) for _ in "12"]
    for response in responses:
        assert_conforms(openapi, case, response)
    assert responses[-1].status_code == case.expected, responses[-1].content


def test_schema_every_documented_response_is_exercised(openapi):
    documented = {
        (path, method.upper(), int(code))
        for path, operations in openapi["paths"].items()
        for method, operation in operations.items()
        for code in operation["responses"]
    }
    exercised = {(case.template, case.method, case.expected) for case in CASES}
    assert documented == exercised


def test_schema_paths_are_the_users_routes(openapi):
    assert sorted(openapi["paths"]) == sorted(
        [USER, REGISTER, LOGIN, LOGOUT, FOLLOW, UNFOLLOW, PROFILE, PROFILE_RW]
    )


def test_schema_profile_has_twelve_required_keys_and_two_optional(openapi):
    profile = openapi["components"]["schemas"]["Profile"]
    assert profile["required"] == sorted(
        ["id", "username", "email", "bio", "location", "twitter"]
        + ["played", "liked", "backlog", "wishlist", "following", "followers"]
    )
    assert list(profile["properties"])[-2:] == ["me", "followingUser"]
    assert profile["additionalProperties"] is False


def test_schema_undeclared_method_answers_405_with_allow(openapi, auth_client):
    # With a token: DRF checks authentication before the method, so anonymous callers of the
    # token routes get 401 first.
    client = auth_client
    for template, operations in openapi["paths"].items():
        path = template.replace("{username}", "madeline")
        response = client.put(path, {}, format="json")
        assert response.status_code == status.HTTP_405_METHOD_NOT_ALLOWED, path
        assert response.json() == {"detail": 'Method "PUT" not allowed.'}
        allowed = {method.strip() for method in response["Allow"].split(",")}
        assert {method.upper() for method in operations} <= allowed


def test_schema_served_as_yaml_by_default():
    response = APIClient().get("/api/schema/")
    assert response.status_code == status.HTTP_200_OK
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.1.0\n")


def test_schema_ignores_a_bad_token():
    client = APIClient(HTTP_AUTHORIZATION="Token nonsense")
    assert client.get("/api/schema/", {"format": "json"}).status_code == status.HTTP_200_OK


def test_schema_validation_rejects_undocumented_keys(openapi):
    # The conformance test above is only as strict as this: a key the schema does not list fails.
    case = CASES[0]

    class FakeResponse:
        status_code = 200
        content = b"{}"

        def __getitem__(self, header):
            return JSON

        def json(self):
            return {"id": 1, "username": "madeline", "email": "m@example.com", "is_staff": True}

    with pytest.raises(AssertionError):
        assert_conforms(openapi, case, FakeResponse())


def test_schema_generates_without_warnings_and_validates(tmp_path):
    # A new view without a documented request/response would warn here before it reached a client.
    from django.core.management import call_command

    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert target.read_text().startswith("openapi: 3.1.0\n")
