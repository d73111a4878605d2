"""Building blocks for the views of every app: which methods a view answers, and when.

A wrong method is wrong whoever sends it: it answers 405 with `Allow` before authentication,
throttling or the CSRF check can answer something else.
"""

import functools

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions


class MethodCheckedFirst:
    """An APIView mixin: a method the view does not serve answers 405 before anything else.

    DRF authenticates, checks permissions and throttles in `initial()`, before it looks for the
    method's handler, so `GET login/` from a throttled client answered 429 and `GET follow/`
    without a token 401. A wrong method is wrong whoever sends it: 405, with `Allow`.
    """

    def initial(self, request, *args, **kwargs):
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            self.http_method_not_allowed(request, *args, **kwargs)
        super().initial(request, *args, **kwargs)


def json_methods(*methods: str):
    """For plain Django views (not DRF) that answer JSON: `@json_methods("GET", "HEAD")`.

    Another method answers 405 `{"detail": "Method \"POST\" not allowed."}` with `Allow`, the
    same body DRF gives. The view is CSRF-exempt: it reads no cookie or session, so there is
    nothing to forge, and the CSRF check would otherwise answer an unsafe method with 403 before
    the view could say 405.
    """
    allowed = ", ".join(methods)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = JsonResponse(
                    {"detail": exceptions.MethodNotAllowed(request.method).detail}, status=405
                )
                response["Allow"] = allowed
                return response
            return view(request, *args, **kwargs)

        return csrf_exempt(wrapper)

    return decorator
