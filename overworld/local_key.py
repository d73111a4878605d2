"""The secret key of a source checkout: made on first run, kept in `.secret_key`, out of git.

A *checkout* is a project directory with a `.git` entry (a clone's directory or a worktree's
file). There, `manage.py`, `scripts/serve.sh` and gunicorn all work with no environment at all,
and they share one key, so tokens and admin sessions survive restarts. Anything else is a
*deployment* (the Docker image leaves `.git` out, see `.dockerignore`): it must be given
`DJANGO_SECRET_KEY` and refuses to start without one. An explicit `DJANGO_SECRET_KEY` always
wins, checkout or not.

Who writes and who reads: the entry points (`manage.py`, `overworld/wsgi.py`, the server config
`gunicorn.conf.py`) call `ensure_checkout_key` before the settings load and make the file if it
is missing; the settings only read it (`settings_secret_key`), so importing them writes nothing.
Imports no Django settings: a server config can call it before Django is set up.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from overworld.env import env

KEY_FILE_NAME = ".secret_key"
NO_KEY_IN_A_DEPLOYMENT = (
    "DJANGO_SECRET_KEY is not set: a deployment needs one (a long random string, e.g. "
    "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'); only a source "
    "checkout (a directory with .git) makes its own."
)


def is_checkout(base_dir: Path) -> bool:
    return (base_dir / ".git").exists()


def ensure_checkout_key(base_dir: Path) -> None:
    """For an entry point, before the settings load: in a checkout without DJANGO_SECRET_KEY,
    make `.secret_key` if it does not exist yet. Anywhere else, nothing."""
    if env.str("DJANGO_SECRET_KEY", default="") or not is_checkout(base_dir):
        return
    try:
        checkout_secret_key(base_dir)
    except OSError as exc:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is not set and this checkout's local key cannot be made ({exc}); "
            "set DJANGO_SECRET_KEY."
        ) from exc


def settings_secret_key(base_dir: Path) -> str:
    """For the settings, when DJANGO_SECRET_KEY is not set: the checkout's key, read only.

    ImproperlyConfigured, with a one-line reason, in a deployment or when no entry point has
    made the key yet (e.g. `django.setup()` from a bare `python -c` in a fresh clone).
    """
    if not is_checkout(base_dir):
        raise ImproperlyConfigured(NO_KEY_IN_A_DEPLOYMENT)
    key = _read(base_dir / KEY_FILE_NAME)
    if not key:
        raise ImproperlyConfigured(
            f"DJANGO_SECRET_KEY is not set and this checkout has no local key ({KEY_FILE_NAME}) "
            "yet: manage.py, scripts/serve.sh and gunicorn make it on their first run; or set "
            "DJANGO_SECRET_KEY."
        )
    return key


def checkout_secret_key(base_dir: Path) -> str:
    """The checkout's key from `base_dir/.secret_key`, creating the file if it does not exist.

    Made atomically: the key is written to a private temporary file that is then hard-linked to
    its name, which fails if another process got there first; that process's key is then read.
    So concurrent first runs (serve.sh's migrate beside a `manage.py shell`) agree on one key,
    and no reader ever sees a half-written file. Mode 0600: it signs the admin's sessions.
    """
    path = base_dir / KEY_FILE_NAME
    key = _read(path)
    if key:
        return key
    temporary = base_dir / f"{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_urlsafe(50) + "\n")
        if key == "":
            # An empty file (an interrupted write of an older serve.sh): replace it.
            os.replace(temporary, path)
        else:
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process made it first: use theirs
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str | None:
    """The stripped content of `path`, "" when empty, None when the file does not exist."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return None
