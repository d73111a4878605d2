"""Benchmark settings: the project's own, plus the bench-only DRF-floor route.

Selected with DJANGO_SETTINGS_MODULE=bench.settings by bench/run.py only; the API never sees
the floor view.
"""

from overworld.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
