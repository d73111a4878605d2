"""`.env.example` lists every variable the project reads, whatever reads it and however.

Two nets, so that a variable added by any branch is caught: the names `overworld.env.env` was
asked for while the settings and the server config loaded (a variable read through a helper of
one's own, or under a computed name, is still seen), and a scan of the source for any call that
reads one by a literal name (a variable read only in a branch the default environment does not
take is still seen).
"""

import os
import re
import subprocess
import sys

from django.conf import settings

from overworld.env import is_own

ROOT = settings.BASE_DIR
# The server configs at the top of the project (gunicorn.conf.py, or another server's).
SERVER_CONFIGS = sorted(path.name for path in ROOT.glob("*.py") if "conf" in path.stem)
# What the README's two commands read beside the settings.
SCRIPTS = ["scripts/serve.sh", "scripts/test.sh"]
# Any accessor of overworld.env's `env` (env.str, env.bool, env("X")...), the older env_int-style
# helpers, os.environ and os.getenv, and a shell `${NAME:-default}`.
READS = re.compile(
    r"""(?:\benv(?:\.\w+)?|\benv_\w+|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]+)["']"""
    r"""|os\.environ\[\s*["']([A-Z][A-Z0-9_]+)["']\s*\]"""
    r"""|\$\{([A-Z][A-Z0-9_]+):?[-?=]"""
)
# Set for Django itself by the entry points, not a knob of this project.
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def project_python_files():
    """The project's own code: not its tests, the benchmark, migrations or the venv."""
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).parts
        if parts[0].startswith(".") or parts[0] in {"bench", "build", "staticfiles"}:
            continue
        if "tests" in parts or "migrations" in parts or path.name == "conftest.py":
            continue
        yield path


def listed_in_env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.M))


def read_at_startup() -> set[str]:
    """What `env` was asked for by the settings and the server configs, in a bare environment."""
    code = (
        "import runpy, sys, django; django.setup()\n"
        "for config in sys.argv[1:]: runpy.run_path(config)\n"
        "from overworld.env import env; print(' '.join(sorted(env.read)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *SERVER_CONFIGS],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "overworld.settings",
            "DJANGO_SECRET_KEY": "env-example-test-key",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def read_in_the_source() -> set[str]:
    names = set()
    for path in [*project_python_files(), *(ROOT / script for script in SCRIPTS)]:
        for match in READS.finditer(path.read_text()):
            names.add(next(group for group in match.groups() if group))
    return names - NOT_SETTINGS


def test_env_example_lists_every_variable_the_settings_and_server_config_read():
    read = read_at_startup()

    assert {"DJANGO_SECRET_KEY", "OVERWORLD_DB_RETRY_WAIT", "GUNICORN_BIND"} <= read  # it works
    assert read - listed_in_env_example() == set()


def test_env_example_lists_every_variable_named_in_the_source():
    read = read_in_the_source()

    # The pattern finds every kind of read: env.float, env.str, a shell default.
    assert {"OVERWORLD_REDIS_TIMEOUT", "REDIS_URL", "OVERWORLD_SEED_DEMO"} <= read
    assert read - listed_in_env_example() == set()


def test_every_variable_listed_is_named_as_the_projects_own():
    # What foreign_environment() keeps from a child server: none of these may slip through.
    assert {name for name in listed_in_env_example() if not is_own(name)} == set()


def test_env_is_read_only_through_overworld_env():
    # One parser, one rule for blank values: no direct os.environ reads beside overworld/env.py.
    direct = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[")
    offenders = [
        str(path.relative_to(ROOT))
        for path in project_python_files()
        if path != ROOT / "overworld" / "env.py" and direct.search(path.read_text())
    ]

    assert offenders == []
