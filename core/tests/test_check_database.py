"""`manage.py check_database`, which scripts/serve.sh runs before migrating."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.utils import OperationalError

from core.management.commands.check_database import unreachable

ROOT = Path(__file__).resolve().parents[2]
POSTGRES = {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1", "PORT": 5432}


def test_check_database_passes_silently_on_a_reachable_database(db, capsys):
    call_command("check_database")

    assert capsys.readouterr() == ("", "")


def test_check_database_names_a_missing_database_and_the_command_that_creates_it():
    error = OperationalError(
        'connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "ow_x" does '
        "not exist\n"
    )

    message = unreachable({**POSTGRES, "NAME": "ow_x", "USER": "postgres"}, error)

    assert message == (
        'database "ow_x" does not exist on 127.0.0.1:5432; create it with: '
        "createdb -h 127.0.0.1 -p 5432 -U postgres ow_x"
    )


def test_check_database_other_failures_are_one_line_too():
    error = OperationalError(
        'connection to server at "127.0.0.1", port 5439 failed: Connection refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?\n"
    )

    message = unreachable({**POSTGRES, "PORT": 5439, "NAME": "ow_x", "USER": ""}, error)

    assert message == (
        "cannot connect to the database ow_x on 127.0.0.1:5439: connection to server at "
        '"127.0.0.1", port 5439 failed: Connection refused Is the server running on that host '
        "and accepting TCP/IP connections?"
    )


def postgres_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=2).close()
    except OSError:
        if os.environ.get("CI"):
            raise
        return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_sh_with_a_missing_database_stops_in_one_line_before_migrating():
    if not postgres_is_up():
        pytest.skip("no PostgreSQL on 127.0.0.1:5432")
    name = f"ow_missing_{os.getpid()}"

    result = subprocess.run(
        [str(ROOT / "scripts" / "serve.sh")],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "VENV": str(Path(sys.executable).parent.parent),
            "GUNICORN_BIND": f"127.0.0.1:{free_port()}",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{name}",
            "DJANGO_SECRET_KEY": "check-database-test-key",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f'CommandError: database "{name}" does not exist on 127.0.0.1:5432; create it with: '
        f"createdb -h 127.0.0.1 -p 5432 -U postgres {name}"
    )
    assert "Applying" not in result.stdout  # migrate never ran
