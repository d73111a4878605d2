import pytest
from rest_framework.test import APIClient


@pytest.fixture
def raising_client() -> APIClient:
    """An APIClient that answers as a server would instead of re-raising the exception."""
    return APIClient(raise_request_exception=False)
