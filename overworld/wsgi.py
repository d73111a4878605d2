import os
from pathlib import Path

from django.core.wsgi import get_wsgi_application

from overworld.local_key import ensure_checkout_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "overworld.settings")
# An entry point: a checkout served by any WSGI server makes its local key here, if it has none
# yet, before the settings read it (overworld/local_key.py).
ensure_checkout_key(Path(__file__).resolve().parent.parent)

application = get_wsgi_application()
