#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path

# This project's way to a Python that has the requirements: either script makes .venv.
VENV_HINT = "./scripts/serve.sh (or ./scripts/test.sh) makes .venv; then .venv/bin/python manage.py"


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "overworld.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError:
        sys.exit(
            "manage.py: Couldn't import Django. Are you sure it's installed and available on your "
            "PYTHONPATH environment variable? Did you forget to activate a virtual environment? "
            f"In this project: {VENV_HINT} ..."
        )
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        from overworld.local_key import ensure_checkout_key

        # A checkout with no DJANGO_SECRET_KEY makes its local key here; the settings only read
        # it. Then import the settings now: Django would report a settings error as "settings
        # are not configured" and a traceback, with the one useful line at its bottom.
        ensure_checkout_key(Path(__file__).resolve().parent)
        settings.INSTALLED_APPS  # noqa: B018
    except ImproperlyConfigured as exc:
        sys.exit(f"manage.py: {exc}")
    except ModuleNotFoundError as exc:
        # Django is there but a newer requirement is not (a .venv older than requirements.txt).
        sys.exit(f"manage.py: {exc}: this Python lacks a requirement. {VENV_HINT} ...")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
