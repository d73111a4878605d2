import os
import subprocess
import sys

from django.conf import settings

PROBE = """
import logging, django
django.setup()
logging.getLogger("django.request").error("probe-record")
print(logging.getLevelName(logging.getLogger().level))
print(logging.getLevelName(logging.getLogger("django.db.backends").getEffectiveLevel()))
"""


def run_with_log_level(level: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_LOG_LEVEL": level, "DJANGO_DEBUG": "1"}
    env["DJANGO_SETTINGS_MODULE"] = "overworld.settings"
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_logging_level_comes_from_the_environment():
    assert run_with_log_level("warning").stdout.split()[0] == "WARNING"
    assert run_with_log_level("DEBUG").stdout.split()[0] == "DEBUG"


def test_logging_writes_each_django_error_once_to_stderr():
    # With debug on, Django's default config would also print it through its own console
    # handler: the record must appear once, from the root handler.
    stderr = run_with_log_level("INFO").stderr
    assert stderr.count("probe-record") == 1
    assert "ERROR django.request probe-record" in stderr


def test_logging_keeps_sql_statements_quiet_at_debug():
    # DEBUG is for our code; every SQL statement would drown it.
    assert run_with_log_level("DEBUG").stdout.split()[1] == "INFO"
