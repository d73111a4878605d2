"""Settings for the gunicorn servers that tests start (users/tests/live.py).

The production settings, with the fast test hasher: the race tests register and log in dozens
of users at once, and Argon2 would spend ~0.2 s of CPU and 100 MiB on each. Nothing else differs.
"""

from overworld.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
