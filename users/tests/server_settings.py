"""Settings for the gunicorn servers that tests start (users/tests/live.py).

The production settings, with the fast test hasher: the race tests register and log in dozens
of users at once, and Argon2 would spend ~0.2 s of CPU and 100 MiB on each. Nothing else differs.
"""

import os

from overworld.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# scripts/measure_sqlite_writers.py compares the project's SQLite options with Django's own
# defaults (deferred transactions, a 5 s busy timeout, rollback journal); only it sets this.
if os.environ.get("OVERWORLD_MEASURE_SQLITE_DEFAULTS") == "1":
    DATABASES["default"]["OPTIONS"] = {}  # noqa: F405
