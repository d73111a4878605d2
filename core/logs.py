"""Log lines that say which request wrote them, as text (the default) or one JSON object each.

core.access binds each request's id here for as long as the request is served (a context
variable: one value per thread, and per task under ASGI), and RequestContextFilter, on the
console handler (settings.LOGGING), puts it on every record written meanwhile: the access line,
the 503 dependency line, Django's own 4xx/5xx lines. The id is cleared when the server closes
the response (Django's request_finished), after Django wrote its 4xx/5xx line.

OVERWORLD_LOG_FORMAT picks the formatter:
- `text`: `2026-12-01 14:03:12,345 ERROR core.unavailable GET /api/users/madeline: 503, ...
  request_id=4bf92f3577b34da6a3ce929d0e0e4736`; a record outside any request has no suffix.
- `json`: `{"time": "2026-12-01T14:03:12.345Z", "level": "ERROR", "logger": "core.unavailable",
  "message": "...", "request_id": "4bf9...", "process": 1234}`; the access line adds method,
  route, path, status, bytes, duration_ms and client; a traceback goes in `exception`.
"""

import contextvars
import json
import logging
import time

from django.core.signals import request_finished
from django.dispatch import receiver

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "overworld_request_id", default=None
)


def bind_request_id(request_id: str) -> None:
    _request_id.set(request_id)


def current_request_id() -> str | None:
    return _request_id.get()


@receiver(request_finished, dispatch_uid="core.logs.unbind_request_id")
def unbind_request_id(**kwargs) -> None:
    _request_id.set(None)


class RequestContextFilter(logging.Filter):
    """Adds `request_id` (None outside a request) to every record a handler writes."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class TextFormatter(logging.Formatter):
    """The plain format, and ` request_id=<id>` at the end of the first line in a request."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        request_id = getattr(record, "request_id", None)
        return f"{line} request_id={request_id}" if request_id else line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback is a string field)."""

    def format(self, record: logging.LogRecord) -> str:
        seconds = time.gmtime(record.created)
        document = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", seconds) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "process": record.process,
        }
        access = getattr(record, "access", None)
        if access:
            document.update(access)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, default=str)
