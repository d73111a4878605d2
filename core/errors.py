"""JSON errors everywhere: DRF's exception handler plus Django's error views.

The contract wants every error body to be a JSON object, including the ones Django produces
before DRF is reached (unknown routes, a disallowed Host header, a CSRF failure) and request
bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, which Django raises as a SuspiciousOperation rather than
a DRF error. A database or Redis failure is a 503 on every one of these paths (core.unavailable).
Which error wins matters too: a wrong method is 405 before anything else (core.views).
"""

import sys

from django.core.exceptions import NON_FIELD_ERRORS, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.urls import reverse
from django.views import csrf
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.unavailable import dependency_failure, unavailable_response


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large."
    default_code = "request_too_large"


class ApplicationError(Exception):
    """A business rule a service refused, with its answer in the contract's terms.

    Services raise plain Python exceptions that subclass this (users.services: LoginRefused,
    LoginLocked, SelfFollow); the exception handler below is the one place that turns them into
    HTTP, so no view catches a business error.
    """

    def api_exception(self) -> exceptions.APIException:
        raise NotImplementedError


def field_errors(exc: DjangoValidationError) -> exceptions.ValidationError:
    """Django's ValidationError as DRF's 400 body (`__all__` is DRF's `non_field_errors`)."""
    errors = (
        dict(exc.message_dict) if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}
    )
    if NON_FIELD_ERRORS in errors:
        errors[api_settings.NON_FIELD_ERRORS_KEY] = errors.pop(NON_FIELD_ERRORS)
    return exceptions.ValidationError(errors)


def exception_handler(exc, context):
    # DRF hands every exception of its views here and re-raises what this returns None for.
    failure = dependency_failure(exc)
    if failure is not None:
        set_rollback()
        return unavailable_response(failure)
    if isinstance(exc, ApplicationError):
        exc = exc.api_exception()
    elif isinstance(exc, DjangoValidationError):
        # A service's field errors: a name or email taken between the serializer's check and
        # the write, or a reserved name.
        exc = field_errors(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError("Malformed request.")
    elif isinstance(exc, Http404):
        # DRF would pass on Django's message ("No User matches the given query.").
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is not None:
        # A view with other renderers (the schema's YAML, Swagger UI's HTML) still answers its
        # errors in JSON: `POST /api/schema/` is a JSON 405, not a YAML one.
        request = context["request"]
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: 403 `{"detail": "CSRF Failed: <reason>"}`, DRF's own wording.

    The API's views are exempt (token authentication, no cookies); this answers any other view
    that fails the check. The admin keeps Django's HTML page: its forms are for people in a
    browser, and that page tells them what to do (enable cookies, reload the form).
    """
    if request.path.startswith(reverse("admin:index")):
        return csrf.csrf_failure(request, reason)
    return JsonResponse({"detail": f"CSRF Failed: {reason}"}, status=403)


def bad_request(request, exception, *args, **kwargs):
    # The session middleware turns a session save that the database refused into a 400
    # (SessionInterrupted, raised from the database error).
    failure = dependency_failure(exception)
    if failure is not None:
        return unavailable_response(failure)
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": RequestTooLarge.default_detail}, status=413)
    return JsonResponse({"detail": "Bad request."}, status=400)


def permission_denied(request, exception, *args, **kwargs):
    return JsonResponse({"detail": exceptions.PermissionDenied.default_detail}, status=403)


def page_not_found(request, exception, *args, **kwargs):
    detail = str(exceptions.NotFound.default_detail)
    if request.path_info == "/":
        # Nothing is served at the root, but whoever opens it is looking for the API.
        detail = (
            f"{detail} The API is documented at {reverse('docs')} "
            f"(OpenAPI schema: {reverse('schema')})."
        )
    return JsonResponse({"detail": detail}, status=404)


def server_error(request, *args, **kwargs):
    # Django calls handler500 while handling the exception, for any view or middleware.
    failure = dependency_failure(sys.exc_info()[1])
    if failure is not None:
        return unavailable_response(failure)
    return JsonResponse({"detail": "A server error occurred."}, status=500)
