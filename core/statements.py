"""SQL statements that PostgreSQL plans once per connection: `Statement` and `execute()`.

The API's two hottest queries, the profile document (users.profile_document) and the token
lookup of every authenticated request (users.authentication), are fixed SQL text whose plan
never depends on the values. Planning them again on every request was about 40 % of the
PostgreSQL CPU of a typical profile (docs/performance.md, "Issue 15: what a request costs").
psycopg2 has no prepared statements of its own, so this module PREPAREs each statement once
per connection (core.postgresql's DatabaseWrapper remembers which) and then sends
`EXECUTE name(values)`, the values quoted by psycopg2 as in any other query.

Elsewhere the statement runs as plain SQL, with the same parameters: on SQLite (whose driver
already keeps compiled statements per connection), behind a transaction pooler, where a
connection cannot keep session state (DJANGO_DISABLE_SERVER_SIDE_CURSORS=1), and when
connections are not kept (DJANGO_CONN_MAX_AGE=0), where a PREPARE would be one more round trip
per request for a plan used once.
"""

import hashlib
import re
from dataclasses import dataclass, field

from django.db import DatabaseError

from core.compat import in_atomic_block

_PARAMETER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Statement:
    """A SELECT written with `%(name)s` parameters, and each parameter's PostgreSQL type.

    `types` lists every parameter the SQL names, in the order of its `$n` in the PREPARE;
    declaring them keeps PostgreSQL from guessing a type from a NULL.
    """

    sql: str
    types: dict[str, str]
    name: str = field(init=False)
    prepare_sql: str = field(init=False)
    execute_sql: str = field(init=False)

    def __post_init__(self):
        named = set(_PARAMETER.findall(self.sql))
        if named != set(self.types):
            raise ValueError(f"parameters {sorted(named)} but types for {sorted(self.types)}")
        position = {name: index for index, name in enumerate(self.types, start=1)}
        name = "overworld_" + hashlib.sha256(self.sql.encode()).hexdigest()[:16]
        # PREPARE goes to the driver without parameters, so nothing unescapes a `%%` for it.
        body = _PARAMETER.sub(lambda match: f"${position[match.group(1)]}", self.sql)
        body = body.replace("%%", "%")
        object.__setattr__(self, "name", name)
        object.__setattr__(
            self, "prepare_sql", f"PREPARE {name} ({', '.join(self.types.values())}) AS {body}"
        )
        values = ", ".join(f"%({parameter})s" for parameter in self.types)
        object.__setattr__(self, "execute_sql", f"EXECUTE {name} ({values})")


# What PostgreSQL answers an EXECUTE whose prepared statement is gone (26000), or whose cached
# plan a migration invalidated by changing a result column's type (0A000, "cached plan must not
# change result type"): prepared again, the statement runs.
_PREPARE_AGAIN = {"26000", "0A000"}


def execute(cursor, statement: Statement, params: dict) -> None:
    """Run `statement` on `cursor` (a Django cursor), prepared where the connection keeps it."""
    database = cursor.db
    prepared = getattr(database, "prepared_statements", None)
    if prepared is None:
        cursor.execute(statement.sql, params)
        return
    if statement.name not in prepared:
        _prepare(database, prepared, statement)
    try:
        cursor.execute(statement.execute_sql, params)
    except DatabaseError as exc:
        if getattr(exc.__cause__, "pgcode", None) not in _PREPARE_AGAIN:
            raise
        prepared.discard(statement.name)
        if in_atomic_block(database):
            raise  # the transaction is aborted: this request fails, the next prepares anew
        # Autocommit: the failed EXECUTE was a transaction of its own, so running it again
        # repeats nothing.
        _prepare(database, prepared, statement)
        cursor.execute(statement.execute_sql, params)


def _prepare(database, prepared: set[str], statement: Statement) -> None:
    """PREPARE `statement` on the connection, replacing a statement of the same name that the
    server session already holds (a session a pooler hands on, a plan gone stale), and note it
    in `prepared`, the connection's set."""
    # On the driver's own cursor: preparing is part of setting up this connection, not a query
    # of the request (a test counting the request's queries sees one EXECUTE).
    with database.wrap_database_errors, database.connection.cursor() as raw:
        raw.execute("SELECT 1 FROM pg_prepared_statements WHERE name = %s", [statement.name])
        if raw.fetchone():
            raw.execute(f"DEALLOCATE {statement.name}")
        raw.execute(statement.prepare_sql)
    prepared.add(statement.name)
