"""knox token authentication with one hand-built query, kept for its measured gain.

docs/performance.md ("Issue 17: knox's own credentials check, measured") compared this with
knox's own `authenticate_credentials` (its ORM query built and compiled on every request):
knox's costs ~0.35 ms more Python CPU per `GET user/` (1.08-1.16 against 0.72-0.79 ms, five
alternating rounds of 2,000 requests), about a third of that request, which would take it
below issue 11's target of 35 % of the DRF floor. So the query stays; everything else is
knox's: its digest, constant-time comparison, expiry rule, AUTO_REFRESH (`renew_token`),
`validate_user`, and its `token_expired` signal.
"""

import functools
import re
from hmac import compare_digest

from django.db import connections, router
from django.utils import timezone
from knox import auth as knox_auth
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from core.statements import Statement, execute
from users.models import User

INVALID_TOKEN = "Invalid token."

# knox issues AUTH_TOKEN_CHARACTER_LENGTH lowercase hex characters after TOKEN_PREFIX.
_TOKEN_PATTERN = re.compile(
    re.escape(knox_settings.TOKEN_PREFIX.encode())
    + rb"[0-9a-f]{%d}" % knox_settings.AUTH_TOKEN_CHARACTER_LENGTH
)


class TokenAuthentication(knox_auth.TokenAuthentication):
    """knox token authentication, hardened against malformed tokens and made one query cheaper.

    - A token that cannot be a knox token (non-UTF-8 bytes, NUL, wrong length) is refused with
      401 "Invalid token." before any query: knox would raise UnicodeDecodeError (500) on the
      first and PostgreSQL a DataError (500) on NUL. A header that is not latin-1 text gets the
      same answer instead of DRF's UnicodeEncodeError.
    - knox scans all of the user's tokens on every request to delete expired ones (a second
      query per request). Here only the presented token's own expiry is checked (an expired
      one is deleted and knox's `token_expired` signal sent, as knox does); the user's other
      expired tokens are purged by `manage.py purge_expired_tokens`, which sends the signal
      for each of them.
    - The one query (the token by its key, joined to its user) is SQL written once per process
      (`_token_query`), not a QuerySet built and compiled on every request: that was about a
      third of the CPU of GET user/ (docs/performance.md); on PostgreSQL it is also planned
      once per connection (core.statements). The rows still go through the
      database's own converters into real AuthToken and User instances, and the digest check
      is knox's: `hash_token` and a constant-time `compare_digest`, on every request, against
      the database (so a logout bites at once).
    """

    def authenticate(self, request):
        try:
            return super().authenticate(request)
        except UnicodeError as exc:
            # A header that is not latin-1 text cannot be encoded to bytes by DRF. WSGI servers
            # always hand over latin-1, but other callers (test clients, ASGI) may not.
            raise exceptions.AuthenticationFailed(INVALID_TOKEN) from exc

    def authenticate_credentials(self, token: bytes):
        if not _TOKEN_PATTERN.fullmatch(token):
            raise exceptions.AuthenticationFailed(INVALID_TOKEN)
        token = token.decode()
        # The token model's alias: outside issue 9's replica scope, always the primary.
        query = _token_query(router.db_for_read(get_token_model()))
        # knox's own loop: several tokens may share a key prefix; the digest decides.
        for auth_token in query.candidates(token[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            if compare_digest(hash_token(token), auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise exceptions.AuthenticationFailed(INVALID_TOKEN)

    def _cleanup_token(self, auth_token) -> bool:
        """knox's check of a token's expiry, for the presented token only: an expired one is
        deleted, with knox's signal (`source="auth_token"`), and skipped."""
        if auth_token.expiry is None or auth_token.expiry >= timezone.now():
            return False
        username = auth_token.user.get_username()
        auth_token.delete()
        token_expired.send(sender=self.__class__, username=username, source="auth_token")
        return True


class _TokenQuery:
    """`SELECT token..., user... FROM token JOIN user WHERE token_key = %s` on one database.

    The statement and each column's converters (SQLite returns datetimes as text and booleans
    as integers) are worked out once from the models' metadata, as the ORM would on every call.
    """

    def __init__(self, alias: str):
        self.alias = alias
        connection = connections[alias]
        quote = connection.ops.quote_name
        token_model = get_token_model()
        self.token_fields = token_model._meta.concrete_fields
        self.user_fields = User._meta.concrete_fields
        token_table, user_table = token_model._meta.db_table, User._meta.db_table
        columns = [f"t.{quote(field.column)}" for field in self.token_fields]
        columns += [f"u.{quote(field.column)}" for field in self.user_fields]
        user_fk = quote(token_model._meta.get_field("user").column)
        key = quote(token_model._meta.get_field("token_key").column)
        self.statement = Statement(
            f"SELECT {', '.join(columns)} FROM {quote(token_table)} t"
            f" INNER JOIN {quote(user_table)} u ON u.{quote(User._meta.pk.column)} = t.{user_fk}"
            f" WHERE t.{key} = %(token_key)s",
            {"token_key": "text"},
        )
        self.converters = column_converters(connection, [*self.token_fields, *self.user_fields])
        self.token_names = [field.attname for field in self.token_fields]
        self.user_names = [field.attname for field in self.user_fields]
        self.token_model = token_model

    def candidates(self, token_key: str) -> list:
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            execute(cursor, self.statement, {"token_key": token_key})
            rows = cursor.fetchall()
        tokens = []
        split = len(self.token_fields)
        for row in rows:
            values = []
            for value, (converters, column) in zip(row, self.converters, strict=True):
                for converter in converters:
                    value = converter(value, column, connection)
                values.append(value)
            auth_token = self.token_model.from_db(self.alias, self.token_names, values[:split])
            auth_token.user = User.from_db(self.alias, self.user_names, values[split:])
            tokens.append(auth_token)
        return tokens


def column_converters(connection, fields) -> list[tuple[list, object]]:
    """Each field's (converters, column), as the ORM applies them to a fetched row.

    Django 5.2's compiler internals (`Field.get_col`, `ops.get_db_converters`,
    `Field.get_db_converters`): there is no public way to convert a raw row's values.
    users/tests/test_authentication.py (`..._as_the_orm_does`) fails if what they do changes.
    """
    converters = []
    for field in fields:
        column = field.get_col(field.model._meta.db_table)
        converters.append(
            (
                connection.ops.get_db_converters(column) + field.get_db_converters(connection),
                column,
            )
        )
    return converters


@functools.cache
def _token_query(alias: str) -> _TokenQuery:
    return _TokenQuery(alias)
