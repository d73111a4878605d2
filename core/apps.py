from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app leans on and that is not configuration: JSON errors, dependency failures
    and the retry, replicas, health, OpenAPI and admin helpers. It has no models."""

    name = "core"
