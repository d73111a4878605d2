"""Request-level guards that run before any view or parser."""

from django.conf import settings
from django.http import JsonResponse

from core.errors import RequestTooLarge


class RequestBodyLimitMiddleware:
    """Refuse any request body over DATA_UPLOAD_MAX_MEMORY_SIZE with 413, before it is read.

    Django caps JSON and form bodies at that size itself, but not multipart file parts (they
    spill to temporary files) nor bodies no view reads: the API takes no uploads, so no request
    needs a bigger body, whatever its method or content type.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0  # Django reads no body for a Content-Length it cannot parse.
        if limit is not None and length > limit:
            return JsonResponse({"detail": RequestTooLarge.default_detail}, status=413)
        return self.get_response(request)
