"""Watches the API's requests in the tests: a write to a table the profile reads, made outside a
users.services function, is a write that pins nobody (read-your-writes) and fails the test.

The root conftest.py turns it on for every test (`_writes_go_through_services`), so a new route
or view that writes through the ORM directly fails the first test that calls it, whatever it
tests. Only requests under /api/ are watched: the admin and management commands write on their
own, and their users read the primary anyway.
"""

import re
import threading

from django.core.signals import request_finished, request_started
from django.db import connections

from core.service_decorator import running

# INSERT [OR IGNORE] INTO, UPDATE, DELETE FROM: the table is the first name after them.
_WRITE = re.compile(
    r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE
)


def profile_tables() -> frozenset[str]:
    """The tables users.profile_document reads: the user, follows, games, the four lists."""
    from games.models import Game
    from users.models import GAME_LISTS, Follow, User

    lists = [getattr(User, name).through._meta.db_table for name in GAME_LISTS]
    return frozenset([User._meta.db_table, Follow._meta.db_table, Game._meta.db_table, *lists])


class WriteWatch:
    """While started: each API request's writes to the profile's tables outside a service."""

    def __init__(self):
        self.tables = profile_tables()
        self.violations: list[str] = []
        self._local = threading.local()

    def start(self) -> None:
        request_started.connect(self._request_started, weak=False)
        request_finished.connect(self._request_finished, weak=False)

    def stop(self) -> None:
        request_started.disconnect(self._request_started)
        request_finished.disconnect(self._request_finished)

    def _request_started(self, sender, environ=None, **kwargs) -> None:
        path = (environ or {}).get("PATH_INFO", "")
        if not path.startswith("/api/"):
            return
        # Each thread has its own connection (live servers answer in threads of their own).
        connection = connections["default"]
        connection.execute_wrappers.append(self._check)
        self._local.watched = (connection, f"{environ.get('REQUEST_METHOD')} {path}")

    def _request_finished(self, sender, **kwargs) -> None:
        watched = getattr(self._local, "watched", None)
        if watched is None:
            return
        connection, _request = watched
        if self._check in connection.execute_wrappers:
            connection.execute_wrappers.remove(self._check)
        self._local.watched = None

    def _check(self, execute, sql, params, many, context):
        match = _WRITE.match(sql)
        if match and match.group(1) in self.tables and running() is None:
            _connection, request = self._local.watched
            self.violations.append(f"{request}: {sql[:120]}")
        return execute(sql, params, many, context)
