import re

from django.utils import timezone
from knox import auth as knox_auth
from knox.settings import knox_settings
from rest_framework import exceptions

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
      query per request). Here only the presented token's own expiry is checked; expired
      tokens are purged by `manage.py purge_expired_tokens`. Hashing, constant-time comparison
      and expiry are still knox's own code.
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
        return super().authenticate_credentials(token)

    def _cleanup_token(self, auth_token) -> bool:
        return auth_token.expiry is not None and auth_token.expiry < timezone.now()
