"""How a profile is sent over the wire: its ETag, a 304 for a current one, gzip when accepted."""

import gzip
import hashlib

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.http import parse_etags

# Profiles are gzipped when the client accepts it, and nothing else is: they run to megabytes
# (a celebrity's followers) and carry no secret to probe by compression (docs/security.md,
# "Compression and BREACH"). Level 1, not the level 6 of Django's GZipMiddleware: on a follower
# list it costs a quarter of the CPU (6 against 23 ms for 0.8 MB) for ~5 % more bytes.
GZIP_LEVEL = 1
GZIP_MIN_BYTES = 200  # below this gzip saves nothing (GZipMiddleware's threshold too)


def accepts_gzip(request) -> bool:
    """Whether Accept-Encoding lists gzip with a q-value above 0 (`gzip;q=0` refuses it)."""
    for coding in request.headers.get("Accept-Encoding", "").split(","):
        name, *params = (part.strip() for part in coding.split(";"))
        if name.lower() != "gzip":
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value) > 0
                except ValueError:
                    return False
        return True
    return False


def none_match(request, etag: str) -> bool:
    """If-None-Match holds `etag`, compared weakly as RFC 9110 says for GET and HEAD."""
    tags = parse_etags(request.headers.get("If-None-Match", ""))
    if tags == ["*"]:
        return True
    bare = etag.removeprefix("W/")
    return any(tag.removeprefix("W/") == bare for tag in tags)


def profile_response(request, document: bytes) -> HttpResponse:
    """The profile document's bytes as they came from the database, with their ETag.

    Not a DRF Response, whose renderer would encode a body that is JSON already. The ETag is a
    strong hash of the exact bytes, so it changes with anything the document shows (the
    profile, its lists, its follows, and for a token the caller's `me` and `followingUser`:
    hence Vary: Authorization). A gzipped body is another representation of the same document,
    so its tag is the weak form of the same hash. A GET or HEAD whose If-None-Match holds the
    tag answers 304 with no body and the tag the 200 would have carried. Only If-None-Match is
    evaluated: a profile has no modification date, and RFC 9110 has a server without one ignore
    If-Unmodified-Since rather than fail it (Django's get_conditional_response would answer an
    empty 412).
    """
    compress = len(document) >= GZIP_MIN_BYTES and accepts_gzip(request)
    etag = f'"{hashlib.sha256(document).hexdigest()}"'
    if compress:
        etag = f"W/{etag}"
    if request.method in ("GET", "HEAD") and none_match(request, etag):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(content_type="application/json")
        if compress:
            document = gzip.compress(document, compresslevel=GZIP_LEVEL, mtime=0)
            response["Content-Encoding"] = "gzip"
        response.content = document
    response["ETag"] = etag
    patch_vary_headers(response, ["Authorization", "Accept-Encoding"])
    return response
