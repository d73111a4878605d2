"""Read replicas: which database a query goes to, and when a replica may answer it.

Installed only when DATABASE_REPLICA_URLS names replicas (settings.py); without them nothing here
runs and every query goes to `default` exactly as before.

- **Scope.** The router answers a replica only inside `replica_reads()`, which the public profile
  GET enters around building its document (`read_from_replica`). Everything else (knox
  token lookups, which run before the view, register, login, logout, follow, profile updates,
  throttle counters, the cache table, the admin, management commands, migrations) is on the
  primary, so a logout or a new token takes effect on every server at once.
- **Read-your-writes.** After a client's write commits, the primary's WAL insert position is
  stored in the shared cache as that user's pin (`record_write`). An authenticated profile read
  uses a replica only when the replica's known replay position is at or past the reader's pin;
  otherwise the primary answers. Why WAL positions rather than "primary for N seconds after a
  write": the comparison is exact (a replica that has replayed past the pin has the write, one
  that has not does not) so a writer is sent back to the replicas as soon as they caught up,
  and never too early however the replica lags. Why in the shared cache: the client's next read
  may land on any server. Anonymous reads have no pin and never read the cache.
- **Bad replicas cost nothing.** Each process keeps every replica's lag and replay position,
  probed at most every STATE_TTL seconds by the request that needs it (no health query per
  request), and a replica that failed is skipped for DOWN_FOR seconds. A replica that is down,
  lags more than OVERWORLD_REPLICA_MAX_LAG, or fails in the middle of a read, is skipped: the
  read is answered by another replica or redone on the primary in the same request. A replica's
  failure therefore never becomes a 5xx; only the primary's does.
- **Replicas that are never behind.** With OVERWORLD_REPLICA_REMOTE_APPLY the primary answers a
  commit only once every replica has applied it (`synchronous_commit = remote_apply`): there is
  no lag to probe and no pin to keep, and only a replica that failed is skipped. The test suite
  runs this way, its replica aliases being test mirrors of the test database (conftest.py).
"""

import contextlib
import contextvars
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from core import metrics

logger = logging.getLogger(__name__)
T = TypeVar("T")

# The apps whose tables the profile reads. Inside the scope anything else (the database cache
# table, sessions, tokens) still reads the primary.
REPLICA_APPS = frozenset({"users", "games"})
# Seconds a probed lag and replay position are trusted: the replay position only grows, so a
# stale one errs towards the primary, never towards a stale read.
STATE_TTL = 0.5
# Seconds a replica that failed (refused, timed out, broke mid-read) is skipped before a
# request tries it again.
DOWN_FOR = 5.0
# Seconds a probe may run before the replica counts as down: one that hangs (a frozen server,
# a network that drops packets) would hang the reads sent there just the same.
PROBE_STUCK = 2.0
PIN_KEY = "replica-pin:{}"

# lag: 0 while the replica has replayed all it received and its WAL receiver is connected;
# otherwise the age of the last transaction it replayed. Not in recovery (a promoted replica)
# gives no replay position, which makes the replica unusable.
PROBE_SQL = """
SELECT pg_last_wal_replay_lsn()::text,
       CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                 AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver) THEN 0
            ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
       END
"""

_scope_alias: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "overworld_replica_alias", default=None
)


class ReplicaRouter:
    """The primary (`default`) for everything, except the profile's reads inside the scope."""

    def db_for_read(self, model, **hints) -> str:
        alias = _scope_alias.get()
        if alias is not None and model._meta.app_label in REPLICA_APPS:
            return alias
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        # Replicas hold the primary's own rows: an object read from one may relate to any other.
        return True

    def allow_migrate(self, db, app_label, model_name=None, **hints) -> bool:
        # Replicas receive the schema by replication; they are read-only anyway.
        return db == DEFAULT_DB_ALIAS


@contextlib.contextmanager
def replica_reads(alias: str):
    """Inside: the router sends the profile's reads to `alias`."""
    token = _scope_alias.set(alias)
    try:
        yield
    finally:
        _scope_alias.reset(token)


# --- Per-process replica state ------------------------------------------------------------------


@dataclass
class ReplicaState:
    checked: float = -math.inf  # time.monotonic() of the last probe
    probe_started: float = -math.inf
    down_until: float = -math.inf
    lag: float = math.inf
    replay_lsn: int = -1


_states: dict[str, ReplicaState] = {}
_probing: dict[str, threading.Lock] = {}
_states_lock = threading.Lock()


def _state(alias: str) -> ReplicaState:
    with _states_lock:
        if alias not in _states:
            _states[alias] = ReplicaState()
            _probing[alias] = threading.Lock()
        return _states[alias]


def parse_lsn(text: str | None) -> int:
    """PostgreSQL's `'16/B374D848'` as an integer that orders like the WAL; -1 for NULL."""
    if not text:
        return -1
    high, low = text.split("/")
    return (int(high, 16) << 32) + int(low, 16)


def refresh(alias: str) -> ReplicaState:
    """The replica's state, probed anew when it is older than STATE_TTL.

    One thread per process probes; the others use the state it had, so a slow replica holds up
    at most one request per STATE_TTL, and one that is down none until DOWN_FOR has passed. A
    probe still running after PROBE_STUCK seconds marks the replica down for the others.
    """
    state = _state(alias)
    now = time.monotonic()
    if now < state.down_until or now - state.checked < STATE_TTL:
        return state
    probing = _probing[alias]
    if not probing.acquire(blocking=False):
        if now - state.probe_started > PROBE_STUCK:
            state.down_until = max(state.down_until, now + DOWN_FOR)
        return state
    state.probe_started = now
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(PROBE_SQL)
            replay, lag = cursor.fetchone()
    except DatabaseError as exc:
        mark_down(alias, exc)
    else:
        state.replay_lsn = parse_lsn(replay)
        state.lag = math.inf if lag is None or state.replay_lsn < 0 else float(lag)
        state.checked = time.monotonic()
    finally:
        probing.release()
    return state


def mark_down(alias: str, exc: BaseException) -> None:
    """Skip `alias` for DOWN_FOR seconds and drop its connection."""
    state = _state(alias)
    state.down_until = time.monotonic() + DOWN_FOR
    state.checked = -math.inf
    logger.warning("replica %s skipped for %.0f s: %s", alias, DOWN_FOR, exc)
    with contextlib.suppress(DatabaseError):
        connections[alias].close()


class Choice(NamedTuple):
    """The replica a read goes to; or None, and why the primary answers instead."""

    alias: str | None
    primary_reason: str = ""


# Why the primary answers when no replica may, the first that applies: one replica held back only
# by the reader's pin means the primary answered for the reader's own write, which is by design;
# otherwise the replicas' health is why.
PRIMARY_REASONS = ("pinned", "lagging", "down")


def usable_replica(pin: int | None) -> Choice:
    """A replica that is up, lags at most OVERWORLD_REPLICA_MAX_LAG and has replayed `pin`, or
    the reason (PRIMARY_REASONS) none is."""
    usable, skipped = [], set()
    for alias in settings.DATABASE_REPLICAS:
        reason = _skip_reason(alias, pin)
        if reason is None:
            usable.append(alias)
        else:
            skipped.add(reason)
    if usable:
        return Choice(random.choice(usable))
    return Choice(None, next((r for r in PRIMARY_REASONS if r in skipped), "down"))


def _skip_reason(alias: str, pin: int | None) -> str | None:
    """Why `alias` may not answer a reader with `pin`; None when it may."""
    if settings.OVERWORLD_REPLICA_REMOTE_APPLY:
        # Every commit is applied there before it is acknowledged: never behind, no probe.
        return "down" if time.monotonic() < _state(alias).down_until else None
    state = refresh(alias)
    if time.monotonic() < state.down_until:
        return "down"
    if state.lag > settings.OVERWORLD_REPLICA_MAX_LAG:
        return "lagging"
    if pin is not None and state.replay_lsn < pin:
        return "pinned"
    return None


# --- Read-your-writes pins ----------------------------------------------------------------------


def _needs_pins() -> bool:
    # A replica that applies every commit before it is acknowledged has the reader's writes.
    return not settings.OVERWORLD_REPLICA_REMOTE_APPLY


def pin_ttl() -> float:
    # A replica within OVERWORLD_REPLICA_MAX_LAG has replayed every transaction older than that,
    # so a pin is only needed for about that long; the margin covers the probe's age and clocks.
    return max(60.0, 10 * settings.OVERWORLD_REPLICA_MAX_LAG)


def record_write(user) -> None:
    """Pin `user`'s reads to the primary until the replicas have replayed this write.

    Called after a write by `user`; runs once the write has committed (at once in autocommit).
    The insert position is at or past the end of every record committed so far, ours included:
    a replica whose replay position reaches it has our write.
    """
    if not settings.DATABASE_REPLICAS or user is None or not _needs_pins():
        return
    user_id = user.pk
    # robust: the write has committed and is answered 2xx whatever happens to its pin (the
    # cache or the LSN query failing is logged); a reader whose pin is missing may then see a
    # replica that lags by up to OVERWORLD_REPLICA_MAX_LAG, never a lost write.
    transaction.on_commit(lambda: _store_pin(user_id), using=DEFAULT_DB_ALIAS, robust=True)


def _store_pin(user_id: int) -> None:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()::text")
        (lsn,) = cursor.fetchone()
    key = PIN_KEY.format(user_id)
    # Never lower a pin: two writes of one user finishing at once on two servers could store
    # theirs in either order. (Between this read and the write below another server may still
    # interleave; the cache API has no atomic max. One client's writes are sequential.)
    pin = max(parse_lsn(lsn), cache.get(key) or -1)
    cache.set(key, pin, timeout=pin_ttl())


def _pin_of(user) -> int | None:
    """The reader's pin: None for anonymous readers and for users with no recent write."""
    if user is None or not user.is_authenticated or not _needs_pins():
        return None
    return cache.get(PIN_KEY.format(user.pk))


# --- The replica-eligible read ------------------------------------------------------------------


def read_from_replica(
    user, read: Callable[[], T], *, confirm_on_primary: tuple[type[Exception], ...] = ()
) -> T:
    """`read()` on a replica that may answer for `user` (None: anonymous), else on the primary.

    `read` must only read: it is redone on the primary when the replica fails in the middle
    (the replica is then skipped for DOWN_FOR seconds), and when it raises one of
    `confirm_on_primary` (a 404 from a replica may be a row it has not replayed yet).
    """
    if not settings.DATABASE_REPLICAS:
        return read()
    try:
        pin = _pin_of(user)
    except Exception as exc:  # noqa: BLE001 - any cache failure: the pin is unknown
        # Without the pin a replica might not have this reader's own writes: the primary is
        # always right. Its own failure, if the cache is the primary, is issue 8's 503.
        logger.warning("read-your-writes pin unavailable, reading the primary: %s", exc)
        metrics.profile_read_on_primary("pin_unavailable")
        return read()
    alias, primary_reason = usable_replica(pin)
    if alias is None:
        metrics.profile_read_on_primary(primary_reason)
        return read()
    try:
        with replica_reads(alias):
            return metrics.profile_read_on_replica(read())
    except confirm_on_primary:
        metrics.profile_read_on_primary("not_found")
        return read()
    except Exception as exc:  # noqa: BLE001 - whatever failed here, the primary answers
        metrics.profile_read_on_primary("failed")
        # Not only DatabaseError: a dependency-failure layer (issue 8) may have turned the
        # replica's error into its own 503 exception already. The read is redone on the
        # primary either way; a real bug fails there again and is reported from there.
        replica = connections[alias]
        if replica.connection is None or getattr(replica.connection, "closed", 0):
            mark_down(alias, exc)
        else:
            # The connection survived (a statement cancelled by a recovery conflict): redo the
            # read, keep the replica.
            logger.warning("replica %s read failed, redone on the primary: %s", alias, exc)
        return read()
