import pytest
from django.test import Client
from rest_framework.test import APIClient


@pytest.fixture
def raising_client() -> APIClient:
    """An APIClient that answers as a server would instead of re-raising the exception."""
    return APIClient(raise_request_exception=False)


@pytest.fixture
def csrf_client() -> Client:
    """A client that, like a browser or curl against a server, is subject to the CSRF check."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def unreachable_redis_cache(settings) -> None:
    """The default cache is Redis on a port nobody listens on, with short socket timeouts."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
