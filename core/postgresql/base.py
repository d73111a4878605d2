"""Django's PostgreSQL backend with a health check that costs no query, and prepared statements.

What this changes, and why (docs/performance.md, "Issue 15: what a request costs"):

- **The health check.** With CONN_HEALTH_CHECKS Django sends `SELECT 1` before the first query
  of every request: a round trip, a statement for the server to run, and the thread giving up
  and taking back the GIL once more -- about a tenth of the CPU of `GET user/`, to learn what
  the socket already says. A server that ends a session (a restart, a fast shutdown,
  `pg_terminate_backend`) sends its FATAL message and closes the socket, so an idle connection
  with something to read, or at end of file, is the one to check: only then is `SELECT 1` sent.
  After an error in the request (core.compat.errors_occurred) Django's full check runs as
  before. What this gives up: a connection whose peer vanished without a word (a host gone, a
  failover, before TCP keepalives notice, ~11 s) used to fail `SELECT 1` and be replaced before
  the request; now the request's first query fails on it. core.unavailable then runs a safe
  request again on a fresh connection, and answers a write 503 with Retry-After (never run
  twice, never lost); the next request gets a new connection.
- **Prepared statements** (`prepared_statements`, core.statements): the names PREPAREd on this
  connection, cleared whenever Django opens a new one. None when the connection cannot keep
  session state: behind a transaction pooler (DJANGO_DISABLE_SERVER_SIDE_CURSORS=1), the next
  transaction may run on another server session, which has never seen the PREPARE; and None
  when connections are not kept (CONN_MAX_AGE 0): a plan used once is not worth a round trip.
"""

import select

from django.db.backends.postgresql import base

from core.compat import errors_occurred


class DatabaseWrapper(base.DatabaseWrapper):
    prepared_statements: set[str] | None = None

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        pooled = self.settings_dict["DISABLE_SERVER_SIDE_CURSORS"]
        kept = self.settings_dict["CONN_MAX_AGE"] != 0
        self.prepared_statements = set() if kept and not pooled else None
        return connection

    def is_usable(self):
        if self.connection is not None and not errors_occurred(self) and self._socket_is_quiet():
            return True
        return super().is_usable()

    def _socket_is_quiet(self) -> bool:
        """True when the server has sent nothing since the last answer: no FATAL, no EOF."""
        try:
            poller = select.poll()
            poller.register(self.connection.fileno(), select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError, base.Database.Error):
            # A closed connection has no descriptor: let the full check decide.
            return False
