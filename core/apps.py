import logging

from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app leans on and that is not configuration: JSON errors, dependency failures
    and the retry, replicas, the fixed-window counters (its one model), health, OpenAPI and admin
    helpers."""

    name = "core"

    def ready(self):
        from core import logs  # noqa: F401 - its signal receiver, connected
        from core.unavailable import DjangoRequestLogFilter

        # Here rather than in LOGGING: django.setup() configures logging before the apps are
        # ready, so a project's own LOGGING cannot drop it, and a dependency 503 is logged once
        # (by core.unavailable) whatever the logging configuration.
        logging.getLogger("django.request").addFilter(DjangoRequestLogFilter())
