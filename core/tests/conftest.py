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
