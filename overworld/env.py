"""The one reader of the environment: `env`, for the settings and the server config alike.

django-environ's `Env` (typed accessors: `env.str`, `env.bool`, `env.int`, `env.float`,
`env.list`), with the project's one rule for every variable:

- a value is stripped of surrounding whitespace, and a blank one counts as unset: the default
  applies (`DJANGO_SECRET_KEY="  "` is no key, `GUNICORN_WORKERS=` is 2);
- true is `1`, `true`, `yes`, `on` (any case) or a non-zero number; anything else is false;
- a number is read as Python reads it (`0.5`, `5e-1`);
- a list is comma-separated, its items stripped, blank items dropped;
- a value is taken as written: no `$OTHER_VARIABLE` interpolation (django-environ's "proxied
  values"), so a secret key or password that starts with `$` stays itself.

`env.read` names every variable asked for, so overworld/tests/test_env_example.py can check that
`.env.example` lists them all. This module imports nothing of the project and needs no Django
settings: a server config imports it before Django is set up (`from overworld.env import env`).
"""

import builtins
import os
from collections.abc import Mapping

import environ
from django.core.exceptions import ImproperlyConfigured


class Env(environ.Env):
    BOOLEAN_TRUE_STRINGS = ("1", "true", "yes", "on")

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        self.read.add(var)
        value = self.ENVIRON.get(var, "").strip()
        if not value:
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"Set the {var} environment variable")
            if not parse_default or default is None:
                return default
            value = default
        if cast is None and default is not None and default is not self.NOTSET:
            cast = type(default)  # django-environ's "smart cast": int for an int default
        return self.parse_value(value, cast)

    def float(self, var, default=environ.Env.NOTSET) -> builtins.float:
        # Python's own float(): django-environ 0.14 first strips every character but digits,
        # ",", "." and "-", which reads "1e1" as 11.0 and refuses "5e-1".
        return self.get_value(var, cast=_python_float, default=default)

    def list(self, var, cast=None, default=environ.Env.NOTSET) -> list:
        items = (
            item.strip() if isinstance(item, str) else item
            for item in super().list(var, cast=cast, default=default)
        )
        return [item for item in items if item != ""]


def _python_float(value: str) -> builtins.float:
    # Not builtins.float itself: django-environ recognises that cast and strips the value.
    return builtins.float(value)


env = Env()


# Every variable the project reads is named so (overworld/tests/test_env_example.py checks it
# against .env.example).
OWN_PREFIXES = ("DJANGO_", "OVERWORLD_", "GUNICORN_")
OWN_NAMES = frozenset(
    {
        "DATABASE_URL",
        "DATABASE_REPLICA_URLS",
        "REDIS_URL",
        "CORS_ALLOWED_ORIGINS",
        "PROMETHEUS_MULTIPROC_DIR",
    }
)


def is_own(name: str) -> bool:
    """Whether `name` is one of the project's own settings variables."""
    return name.startswith(OWN_PREFIXES) or name in OWN_NAMES


def foreign_environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`environ` without the project's own variables: what a server started by a test or a
    benchmark begins from, so that the caller's configuration (a suite's DATABASE_URL, CI's
    pooler flag) reaches it only when passed on purpose."""
    return {name: value for name, value in environ.items() if not is_own(name)}
