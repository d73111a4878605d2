"""Which id a request carries: the trusted proxy's, or a new one.

Every response has `X-Request-ID` (core.access), and every log line written while serving the
request carries the same id (core.logs), so a client's report, the proxy's log and this
application's lines can be joined. An incoming `X-Request-ID` is kept only behind trusted
proxies (OVERWORLD_NUM_PROXIES > 0, the setting the throttle trusts X-Forwarded-For by): there
the proxy sets or passes it. Without one, a client could write whatever it likes into the logs
or pose as another request, so a new id is made. A kept id must also look like an id: at most
128 characters of letters, digits and `._:=+/@-` (UUIDs, nginx's $request_id, hex trace ids);
anything else (spaces, quotes, control characters, a log line's worth) gets a new one.
"""

import re
import uuid

from rest_framework.settings import api_settings

HEADER = "X-Request-ID"
_META_KEY = "HTTP_X_REQUEST_ID"
_VALID = re.compile(r"[A-Za-z0-9._:=+/@-]{1,128}")


def new_request_id() -> str:
    """32 random hex digits (a UUID4 without dashes)."""
    return uuid.uuid4().hex


def request_id_for(request) -> str:
    """The proxy's X-Request-ID when proxies are trusted and it is well-formed, else a new id."""
    if (api_settings.NUM_PROXIES or 0) > 0:
        given = request.META.get(_META_KEY)
        if given and _VALID.fullmatch(given):
            return given
    return new_request_id()
