from datetime import timedelta
from io import StringIO

import pytest
from knox.models import AuthToken
from rest_framework import status

URL = "/api/users/user/"
NO_CREDENTIALS = "Authentication credentials were not provided."


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        # Header values reach Django as latin-1 strings: "\xff\xfe" is two non-UTF-8 bytes.
        ("Token \xff\xfe" + "a" * 62, "Invalid token."),
        ("Token " + "\x00" * 64, "Invalid token."),
        ("Token abc\x00def", "Invalid token."),
        ("Token " + "a" * 63, "Invalid token."),
        ("Token " + "a" * 65, "Invalid token."),
        ("Token " + "A" * 64, "Invalid token."),
        ("Token " + "0" * 64, "Invalid token."),
        ("Token", "Invalid token header. No credentials provided."),
        ("Token a b", "Invalid token header. Token string should not contain spaces."),
        ("Bearer x", NO_CREDENTIALS),
    ],
    ids=[
        "non-utf8",
        "nul-only",
        "nul-inside",
        "odd-length",
        "too-long",
        "uppercase",
        "unknown",
        "no-value",
        "spaces",
        "wrong-prefix",
    ],
)
def test_authentication_malformed_token_unauthorized(api_client, user, header, detail):
    AuthToken.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": detail}
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize(
    "header", ["Token \xff\xfe" + "a" * 62, "Token " + "\x00" * 64, "Token " + "a" * 63]
)
@pytest.mark.django_db
def test_authentication_malformed_token_refused_before_any_query(
    api_client, django_assert_num_queries, header
):
    api_client.credentials(HTTP_AUTHORIZATION=header)

    with django_assert_num_queries(0):
        response = api_client.get(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED


def test_authentication_prefix_ignores_case(api_client, user):
    _instance, token = AuthToken.objects.create(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"token {token}")

    response = api_client.get(URL)

    assert response.status_code == status.HTTP_200_OK


def test_authentication_expired_token_unauthorized(api_client, user):
    _instance, token = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = api_client.get(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Invalid token."}
    assert response["WWW-Authenticate"] == "Token"


def test_authentication_token_of_other_user_not_confused(api_client, user, other_user):
    _instance, token = AuthToken.objects.create(user=other_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = api_client.get(URL)

    assert response.json()["id"] == other_user.pk


def test_authentication_costs_one_query(auth_client, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = auth_client.get(URL)

    assert response.status_code == status.HTTP_200_OK


def test_authentication_other_expired_tokens_do_not_add_queries(
    auth_client, user, django_assert_num_queries
):
    AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))

    with django_assert_num_queries(1):
        response = auth_client.get(URL)

    assert response.status_code == status.HTTP_200_OK


def test_authentication_loads_the_token_and_user_as_the_orm_does(user):
    from users.authentication import TokenAuthentication

    instance, token = AuthToken.objects.create(user=user)

    found_user, found_token = TokenAuthentication().authenticate_credentials(token.encode())

    orm_token = AuthToken.objects.select_related("user").get(pk=instance.pk)
    # Same values and types (SQLite hands over datetimes as text and booleans as integers).
    for field in AuthToken._meta.concrete_fields:
        expected = getattr(orm_token, field.attname)
        assert getattr(found_token, field.attname) == expected
        assert type(getattr(found_token, field.attname)) is type(expected), field.name
    for field in type(user)._meta.concrete_fields:
        expected = getattr(orm_token.user, field.attname)
        assert getattr(found_user, field.attname) == expected, field.name
        assert type(getattr(found_user, field.attname)) is type(expected), field.name
    assert found_token.user is found_user
    assert found_user.is_authenticated and not found_user._state.adding


def test_authentication_token_deleted_elsewhere_refused_at_once(auth_client, user):
    # Logout from another client, or an admin revoking tokens: the next request is refused.
    AuthToken.objects.filter(user=user).delete()

    response = auth_client.get(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert response.json() == {"detail": "Invalid token."}


# --- knox's behaviour kept: its signal, and the same answers as knox's own check ----------------


@pytest.fixture
def expired_signals():
    from knox.signals import token_expired

    sent = []

    def receiver(sender, username, source, **kwargs):
        sent.append((sender.__name__, username, source))

    token_expired.connect(receiver, weak=False)
    yield sent
    token_expired.disconnect(receiver)


def test_authentication_expired_token_deleted_with_knox_signal(api_client, user, expired_signals):
    instance, token = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = api_client.get(URL)

    assert response.status_code == status.HTTP_401_UNAUTHORIZED
    assert not AuthToken.objects.filter(pk=instance.pk).exists()
    assert expired_signals == [("TokenAuthentication", "madeline", "auth_token")]


def test_authentication_purge_sends_knox_signal_per_token(user, other_user, expired_signals):
    from django.core.management import call_command

    AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    AuthToken.objects.create(user=other_user, expiry=timedelta(hours=-2))
    AuthToken.objects.create(user=user, expiry=timedelta(hours=1))

    call_command("purge_expired_tokens", stdout=StringIO())

    assert sorted(expired_signals) == [
        ("TokenAuthentication", "badeline", "other_token"),
        ("TokenAuthentication", "madeline", "other_token"),
    ]


@pytest.mark.parametrize("case", ["valid", "expired", "unknown", "inactive", "other-user"])
def test_authentication_answers_as_knox_own_check(user, other_user, case):
    # The hand-built query replaces knox 5.1.0's lookup only: for each kind of token, knox's own
    # authenticate_credentials and this one accept the same user or refuse with the same
    # message. A knox upgrade that changes its rules fails here.
    from knox.auth import TokenAuthentication as KnoxTokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    from users.authentication import TokenAuthentication

    def outcome(authentication, token):
        try:
            found_user, found_token = authentication.authenticate_credentials(token.encode())
        except AuthenticationFailed as exc:
            return ("refused", str(exc.detail))
        return ("accepted", found_user.pk, found_token.pk)

    def make(owner, **kwargs):
        return AuthToken.objects.create(user=owner, **kwargs)[1]

    results = []
    for authentication in (KnoxTokenAuthentication(), TokenAuthentication()):
        if case == "valid":
            token = make(user)
        elif case == "expired":
            token = make(user, expiry=timedelta(seconds=-1))
        elif case == "unknown":
            token = "0" * 64
        elif case == "inactive":
            user.is_active = False
            user.save()
            token = make(user)
        else:
            token = make(other_user)
        result = outcome(authentication, token)
        if result[0] == "accepted":
            result = (result[0], result[1], "a token")
        results.append(result)

    assert results[0] == results[1]
