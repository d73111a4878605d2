"""Production settings: no default secret, no debug pages, `check --deploy` clean.

The settings module is read once per process, so the environment-driven cases run it in a
subprocess with exactly the environment they describe.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework import status

ROOT = Path(__file__).resolve().parents[2]
DEVELOPMENT_KEY_PREFIX = "django-insecure-"


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` after django.setup() with only `env` (and PATH) in the environment."""
    clean_env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "overworld.settings", **env}
    script = f"import django; django.setup(); from django.conf import settings; {code}"
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=clean_env, capture_output=True, text=True
    )


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    clean_env = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("key", [None, "", "   "])
def test_settings_without_secret_key_and_debug_off_refuse_to_start(key):
    env = {"DJANGO_DEBUG": "0"} if key is None else {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key}

    result = run_python("print(settings.SECRET_KEY)", **env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert result.stdout == ""


def test_settings_debug_unset_means_off_and_needs_a_secret_key():
    result = run_python("print(settings.SECRET_KEY)")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr


def test_settings_development_key_only_with_debug_on():
    result = run_python("print(settings.DEBUG, settings.SECRET_KEY)", DJANGO_DEBUG="1")

    assert result.returncode == 0, result.stderr
    debug, key = result.stdout.split()
    assert debug == "True"
    assert key.startswith(DEVELOPMENT_KEY_PREFIX)


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
    assert response["Location"] == "https://localhost/api/users/madeline"


def test_ssl_redirect_behind_proxy_trusts_forwarded_proto(api_client, user, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    response = api_client.get("/api/users/madeline", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == status.HTTP_200_OK
