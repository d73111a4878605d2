"""OpenAPI pieces shared by the views: error bodies, the knox token scheme, schema hooks.

The schema is served at /api/schema/ and drawn by Swagger UI at /api/docs/. Its error bodies are
the ones core.errors and DRF really send (the contract's wire format); the conformance test
in core/tests/test_openapi.py holds every real response against it.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    """`{"detail": "..."}`: authentication, permission, not found, throttling, bad bodies."""

    detail = serializers.CharField()


def field_errors(component_name: str, serializer_class) -> type[serializers.Serializer]:
    """`{"<field>": ["message", ...]}` for each writable field of `serializer_class`.

    `non_field_errors` is there too: a body that is not a JSON object, a failed login and a
    lost uniqueness race answer with it.
    """
    names = [name for name, field in serializer_class().fields.items() if not field.read_only]
    attrs = {
        name: serializers.ListField(child=serializers.CharField(), required=False)
        for name in [*names, "non_field_errors"]
    }
    attrs["Meta"] = type("Meta", (), {"ref_name": component_name})
    return type(component_name, (serializers.Serializer,), attrs)


def bad_request(component_name: str, serializer_class) -> OpenApiResponse:
    """400: field errors of `serializer_class`, or `{"detail"}` for a body that cannot be parsed."""
    errors = field_errors(f"{component_name}Errors", serializer_class)
    return OpenApiResponse(
        PolymorphicProxySerializer(
            component_name=f"{component_name}BadRequest",
            serializers=[errors, ErrorDetailSerializer],
            resource_type_field_name=None,
        ),
        description='Validation errors per field, or a malformed body (`{"detail": ...}`).',
    )


def detail_response(description: str) -> OpenApiResponse:
    return OpenApiResponse(ErrorDetailSerializer, description=description)


UNAUTHORIZED = detail_response(
    "No token (`Authentication credentials were not provided.`), or a bad, expired or revoked "
    "one (`Invalid token.`)."
)
NOT_FOUND = detail_response("No user with that username (case ignored): `Not found.`")
PAYLOAD_TOO_LARGE = detail_response("A body over 1 MiB: `Request body is too large.`")
UNSUPPORTED_MEDIA_TYPE = detail_response(
    "A `Content-Type` other than JSON, form-encoded or multipart."
)
THROTTLED = detail_response(
    "Too many register/login requests from this client (`OVERWORLD_THROTTLE_AUTH`); "
    "`Retry-After` says when to try again."
)
# An empty JSON array: what follow and unfollow answer on success.
EMPTY_LIST = OpenApiResponse(
    {"type": "array", "items": {}, "maxItems": 0}, description="`[]`: done (idempotent)."
)

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    description="Seconds until the next request is allowed.",
    response=[429],
)
USERNAME_PATH = OpenApiParameter(
    "username",
    str,
    OpenApiParameter.PATH,
    description="Letters, digits and `@.+-_`, at most 150 characters; case is ignored.",
)

# Body-reading routes: what a body can do to them before the serializer sees it.
BODY_ERRORS = {413: PAYLOAD_TOO_LARGE, 415: UNSUPPORTED_MEDIA_TYPE}


class KnoxTokenScheme(OpenApiAuthenticationExtension):
    """`Authorization: Token <token>` for this project's knox authentication subclass.

    drf-spectacular's own knox extension matches only knox's class, not subclasses of it.
    """

    target_class = "users.authentication.TokenAuthentication"
    name = "knoxToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "A knox token from register or login, sent as `Token <token>` "
                "(type the word `Token`, a space, then the token)."
            ),
        }


def drop_slash_after_username(endpoints, **kwargs):
    """Preprocessing hook: write `.../{username}` the way the contract does.

    Every route takes its trailing slash as optional (`/?$`); drf-spectacular keeps the slash.
    The username routes are the ones clients call without it, so their paths lose it here.
    """
    return [
        (path.removesuffix("/") if path.endswith("{username}/") else path, *rest)
        for path, *rest in endpoints
    ]


def close_response_objects(result, generator, request, public):
    """Postprocessing hook: response objects carry exactly their documented keys.

    Request components (suffix `Request`) stay open: the API ignores unknown request keys.
    """
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if (
            not name.endswith("Request")
            and component.get("type") == "object"
            and "properties" in component
        ):
            component.setdefault("additionalProperties", False)
    return result
