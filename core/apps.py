from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app leans on and that is not configuration: JSON errors, dependency failures
    and the retry, replicas, health, OpenAPI and admin helpers. It has no models."""

    name = "core"

    def ready(self):
        # Their signal receivers: failed logins counted (user_login_failed), the request id
        # unbound when a response is closed (request_finished).
        from core import logging, metrics  # noqa: F401
