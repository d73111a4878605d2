"""Production settings: no default secret, no debug pages, `check --deploy` clean.

The settings module is read once per process, so the environment-driven cases run it in a
subprocess with exactly the environment they describe. Whether the project is a source checkout
(a local key is made) or a deployment (no key, no start) depends on its directory, so those
cases run in a copy of the project, with or without .git.
"""

import os
import secrets
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework import status

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT_KEY_PREFIX = "django-insecure-"
BIN = Path(sys.executable).parent
# What a deployment ships: the Python packages and the entry points, without .git.
PROJECT_FILES = ["manage.py", "gunicorn.conf.py", "overworld", "core", "users", "games"]


def copy_project(target: Path, *, checkout: bool) -> Path:
    """A copy of the project in `target`: a source checkout (with .git) or a deployment."""
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)
    if checkout:
        (target / ".git").mkdir()
    return target


@pytest.fixture
def deployment(tmp_path) -> Path:
    return copy_project(tmp_path, checkout=False)


@pytest.fixture
def checkout(tmp_path) -> Path:
    return copy_project(tmp_path, checkout=True)


def clean_env(**env: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], **env}


# For tests of other settings: a fresh clone has no `.secret_key` until an entry point makes one,
# and importing the settings never does.
SETTINGS_ONLY_KEY = "settings-only-test-key-0123456789abcdefghijklmnopqrstuvwxyz"


def run_python(code: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    """Run `code` after django.setup() in `cwd` with only `env` (and PATH) in the environment."""
    script = f"import django; django.setup(); from django.conf import settings; {code}"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=clean_env(DJANGO_SETTINGS_MODULE="overworld.settings", **env),
        capture_output=True,
        text=True,
    )


def manage(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
    )


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    return manage(ROOT, "check", "--deploy", "--fail-level", "WARNING", **env)


@pytest.mark.parametrize("key", [None, "", "   "])
def test_settings_without_secret_key_in_a_deployment_refuse_to_start(deployment, key):
    env = {"DJANGO_DEBUG": "0"} if key is None else {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key}

    result = run_python("print(settings.SECRET_KEY)", cwd=deployment, **env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("debug", [None, "1"])
def test_settings_debug_on_or_unset_does_not_excuse_a_deployment_without_a_key(deployment, debug):
    env = {} if debug is None else {"DJANGO_DEBUG": debug}

    result = run_python("print(settings.SECRET_KEY)", cwd=deployment, **env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert not (deployment / ".secret_key").exists()


def test_manage_py_in_a_deployment_without_a_key_says_why_in_one_line(deployment):
    result = manage(deployment, "check")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("manage.py: DJANGO_SECRET_KEY is not set: a deployment needs")
    assert result.stderr.count("\n") == 1  # one line, no traceback


def test_gunicorn_in_a_deployment_without_a_key_refuses_to_boot_in_one_line(deployment):
    result = subprocess.run(
        [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "overworld.wsgi"],
        cwd=deployment,
        # Port 9 (discard) is never bound: the refusal comes before gunicorn binds anything.
        env=clean_env(GUNICORN_BIND="127.0.0.1:9"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("gunicorn: DJANGO_SECRET_KEY is not set: a deployment needs")
    assert result.stderr.count("\n") == 1


def test_manage_py_in_a_checkout_works_bare_with_a_local_key(checkout):
    result = manage(checkout, "check")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    key_file = checkout / ".secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip()
    assert len(key) >= 50 and not key.startswith(DEVELOPMENT_KEY_PREFIX)
    # Every later process (manage.py shell, serve.sh's gunicorn) uses that same key.
    again = run_python("print(settings.SECRET_KEY)", cwd=checkout)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == key


def test_settings_import_in_a_checkout_writes_no_key_file(checkout):
    # Only the entry points (manage.py, wsgi.py, gunicorn.conf.py) make the key.
    result = run_python("print(settings.SECRET_KEY)", cwd=checkout)

    assert result.returncode != 0
    assert "this checkout has no local key (.secret_key) yet" in result.stderr
    assert result.stdout == ""
    assert not (checkout / ".secret_key").exists()


def test_wsgi_in_a_checkout_works_bare_with_a_local_key(checkout):
    result = subprocess.run(
        [sys.executable, "-c", "from overworld.wsgi import application; print(application)"],
        cwd=checkout,
        env=clean_env(),
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert "WSGIHandler" in result.stdout
    key = (checkout / ".secret_key").read_text().strip()
    again = run_python("print(settings.SECRET_KEY)", cwd=checkout)
    assert again.stdout.strip() == key


def test_manage_py_without_django_says_how_to_get_the_venv(checkout):
    # -S: no site-packages, as with a system Python that has no Django.
    result = subprocess.run(
        [sys.executable, "-S", "manage.py", "runserver"],
        cwd=checkout,
        env=clean_env(),
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    assert result.stderr.startswith(
        "manage.py: Couldn't import Django. Are you sure it's installed and available on your "
        "PYTHONPATH environment variable? Did you forget to activate a virtual environment? "
    )
    assert "./scripts/serve.sh" in result.stderr and ".venv" in result.stderr
    assert result.stderr.count("\n") == 1  # one line, no traceback


def test_settings_in_a_checkout_prefer_the_given_key(checkout):
    key = secrets.token_urlsafe(50)

    result = run_python("print(settings.SECRET_KEY)", cwd=checkout, DJANGO_SECRET_KEY=key)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key
    assert not (checkout / ".secret_key").exists()


def test_docker_image_is_a_deployment_not_a_checkout():
    # The image is built from this directory minus .dockerignore: without .git it is a
    # deployment, so a container without DJANGO_SECRET_KEY refuses to start.
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".git" in ignored
    assert ".secret_key" in ignored


def test_settings_debug_off_uses_the_given_key():
    key = secrets.token_urlsafe(50)

    result = run_python("print(settings.DEBUG, settings.SECRET_KEY)", DJANGO_SECRET_KEY=key)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", key]


def test_settings_under_test_run_with_debug_off_and_no_development_key():
    assert settings.DEBUG is False
    assert not settings.SECRET_KEY.startswith(DEVELOPMENT_KEY_PREFIX)


def test_check_deploy_with_production_env_reports_nothing():
    result = check_deploy(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS="api.example.com",
        DJANGO_SECURE_SSL_REDIRECT="1",
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://api.example.com",
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_with_contract_env_warns_only_about_the_redirect():
    # The contract's variables alone serve plain http on localhost: the redirect is left to the
    # proxy (or DJANGO_SECURE_SSL_REDIRECT), everything else is already production-grade.
    result = check_deploy(DJANGO_SECRET_KEY=secrets.token_urlsafe(50))

    assert result.returncode == 1
    warnings = [line for line in result.stderr.splitlines() if line.startswith("?: (")]
    assert [w.split()[1] for w in warnings] == ["(security.W008)"]


def test_settings_debug_off_defaults_are_secure_except_the_redirect():
    result = run_python(
        "print(settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS,"
        " settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD,"
        " settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE,"
        " settings.SECURE_PROXY_SSL_HEADER)",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "31536000", "True", "True", "True", "True", "None"]


def test_settings_proxy_header_is_opt_in():
    result = run_python(
        "print(settings.SECURE_PROXY_SSL_HEADER)",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECURE_PROXY_SSL_HEADER="1",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_plain_http_is_served_without_redirect(api_client, user):
    response = api_client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_200_OK
    assert not response.has_header("Strict-Transport-Security")


def test_https_response_carries_hsts(api_client, user):
    response = api_client.get("/api/users/madeline", secure=True)

    assert response.status_code == status.HTTP_200_OK
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def test_ssl_redirect_on_redirects_http_to_https(api_client, user, settings):
    settings.SECURE_SSL_REDIRECT = True

    response = api_client.get("/api/users/madeline")

    assert response.status_code == status.HTTP_301_MOVED_PERMANENTLY
    assert response["Location"] == "https://testserver/api/users/madeline"


def test_ssl_redirect_behind_proxy_trusts_forwarded_proto(api_client, user, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = api_client.get("/api/users/madeline", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == status.HTTP_200_OK
