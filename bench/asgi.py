"""ASGI entry point for the serving comparison only (bench/stacks.py: granian asgi, uvicorn)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
application = get_asgi_application()
