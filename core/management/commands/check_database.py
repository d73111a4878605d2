"""`manage.py check_database`: can the default database be reached? One line if not.

`scripts/serve.sh` runs it before `migrate`, so that a DATABASE_URL naming a database that does
not exist, or a server that is not running, stops with one line that says what to do instead of
`migrate`'s chained tracebacks.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections


class Command(BaseCommand):
    help = "Connect to the default database; exit 1 with a one-line reason if that fails."

    def handle(self, *args, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        try:
            connection.ensure_connection()
        except OperationalError as exc:
            raise CommandError(unreachable(connection.settings_dict, exc)) from exc
        finally:
            connection.close()


def unreachable(database: dict, exc: Exception) -> str:
    """The reason, on one line, with the command that fixes a missing PostgreSQL database."""
    name = database["NAME"]
    reason = " ".join(str(exc).split())
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return f"cannot open the SQLite database {name} ({reason}): check DATABASE_URL"
    server = ":".join(str(part) for part in (database["HOST"], database["PORT"]) if part)
    if f'database "{name}" does not exist' in reason:
        createdb = ["createdb"]
        for flag, value in (("-h", database["HOST"]), ("-p", database["PORT"])):
            if value:
                createdb += [flag, str(value)]
        if database["USER"]:
            createdb += ["-U", database["USER"]]
        return (
            f'database "{name}" does not exist on {server or "the local server"}; create it '
            f"with: {' '.join([*createdb, name])}"
        )
    return f"cannot connect to the database {name} on {server or 'the local server'}: {reason}"
