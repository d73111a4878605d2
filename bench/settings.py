"""Benchmark settings: the project's own, plus the bench-only DRF-floor route.

Selected with DJANGO_SETTINGS_MODULE=bench.settings by bench/run.py only; the API never sees
the floor view. BENCH_OBSERVABILITY=off (bench/overhead.py) serves the API without request ids,
metrics and the application's access line, as it was before them, to measure what they cost.
"""

import os

from overworld.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

if os.environ.get("BENCH_OBSERVABILITY") == "off":
    MIDDLEWARE = [m for m in MIDDLEWARE if m != "core.access.AccessMiddleware"]  # noqa: F405
