"""Request parsers: DRF's, with every malformed body a 400."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with JSON nested deeper than Python's json module can follow (a
    RecursionError, which DRF 3.18 does not catch: only ValueError) answered 400 like any
    other malformed JSON instead of 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
