from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class JSONFallbackContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answering with the first renderer (JSON) when nothing else fits.

    The API speaks only JSON: an `Accept` header it cannot satisfy or an unknown `?format=`
    gets JSON rather than a 406 or a 404 that no client of the contract expects. A view with
    several renderers (a schema view, say) still gets the one the client asked for.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except (NotAcceptable, Http404):
            return renderers[0], renderers[0].media_type
