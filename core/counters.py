"""Fixed-window counters that hold under concurrency and across every server worker.

Each count is incremented and read in one atomic step, so at most `rate` events pass per window
whatever the concurrency:

- on a cache with an atomic increment (Redis, memcached): `cache.add` + `cache.incr`;
- otherwise (the database cache, the default): one `INSERT ... ON CONFLICT DO UPDATE SET count =
  count + 1 RETURNING count` on the `ThrottleCounter` table (core.models), atomic on PostgreSQL
  and SQLite alike.

Windows are aligned to the clock (a 10/min window is a calendar minute), so up to twice the
rate may pass across a window boundary. The limits built on them: users.throttling.
"""

import hashlib
import logging
import math
import time
from datetime import UTC, datetime

from django.core.cache import caches
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

from core import metrics
from core.models import ThrottleCounter

ATOMIC_INCR_CACHES = (RedisCache, BaseMemcachedCache)

logger = logging.getLogger(__name__)


def atomic_cache():
    """The default cache when it increments atomically (Redis, memcached), else None."""
    # Not `django.core.cache.cache`: that proxy is never an instance of a backend class.
    backend = caches["default"]
    return backend if isinstance(backend, ATOMIC_INCR_CACHES) else None


def parse_rate(rate: str | None) -> tuple[int | None, int | None]:
    """`"10/min"` -> `(10, 60)`, DRF's rate syntax; `None` means no limit."""
    return SimpleRateThrottle.parse_rate(None, rate)


class WindowCounter:
    """A fixed-window counter named `name`: `hit()` counts one event and says whether it fits."""

    def __init__(self, name: str, rate: str | None, now: float | None = None):
        self.limit, self.duration = parse_rate(rate)
        self.scope = name.partition(":")[0]
        self.now = time.time() if now is None else now
        if self.limit is None:
            return
        window = int(self.now // self.duration)
        self.window_end = (window + 1) * self.duration
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()
        self.key = f"throttle:{digest}:{self.duration}:{window}"

    @property
    def wait(self) -> int:
        """Whole seconds until the window ends (what Retry-After carries), at least 1."""
        return max(1, math.ceil(self.window_end - self.now))

    def hit(self) -> bool:
        """Count one event; True while the window holds no more than `limit` of them."""
        if self.limit is None:
            return True
        cache = atomic_cache()
        # Without a count there is no limit: a Redis that is down or hung propagates, and every
        # register/login answers 503 (core.unavailable), which keeps password guessing
        # shut while it lasts and tells the client the fault is temporary.
        fits = (self._incr_table() if cache is None else self._incr_cache(cache)) <= self.limit
        if not fits:
            metrics.throttled(self.scope)  # the name's prefix: auth, login-failures, ...
        return fits

    def unhit(self) -> None:
        """Take back one event counted by `hit()` in this window."""
        if self.limit is None:
            return
        cache = atomic_cache()
        if cache is not None:
            try:
                cache.decr(self.key)
            except ValueError:
                pass  # the window is over and its key gone: nothing to take back
            except (RedisError, OSError) as exc:
                # The login itself succeeded; at worst one failure too many stays counted.
                logger.warning("throttle counter not released: %s", exc)
        else:
            ThrottleCounter.objects.filter(key=self.key).update(count=F("count") - 1)

    def reset(self) -> None:
        """Forget this window's count (manage.py unlock_login): the next event is the first."""
        if self.limit is None:
            return
        cache = atomic_cache()
        if cache is not None:
            cache.delete(self.key)
        else:
            ThrottleCounter.objects.filter(key=self.key).delete()

    def _incr_cache(self, cache) -> int:
        # The key outlives its window by a minute, so it cannot expire between add and incr
        # while the window is still current; the retry covers a request that straddles it.
        timeout = math.ceil(self.window_end - self.now) + 60
        for _ in range(2):
            cache.add(self.key, 0, timeout=timeout)
            try:
                return cache.incr(self.key)
            except ValueError:
                continue
        return cache.incr(self.key)

    def _incr_table(self) -> int:
        connection = connections[router.db_for_write(ThrottleCounter)]
        qn = connection.ops.quote_name
        table = qn(ThrottleCounter._meta.db_table)
        expires = connection.ops.adapt_datetimefield_value(
            datetime.fromtimestamp(self.window_end, tz=UTC)
        )
        with connection.cursor() as cursor:
            # One statement: the row lock (PostgreSQL) or the write lock (SQLite) serialises
            # concurrent increments, so each caller reads back its own count.
            cursor.execute(
                f"INSERT INTO {table} ({qn('key')}, {qn('count')}, {qn('expires')}) "
                f"VALUES (%s, 1, %s) ON CONFLICT ({qn('key')}) "
                f"DO UPDATE SET {qn('count')} = {table}.{qn('count')} + 1 "
                f"RETURNING {qn('count')}",
                [self.key, expires],
            )
            (count,) = cursor.fetchone()
        if count == 1:
            # A new window began for this name: sweep the rows of finished windows.
            ThrottleCounter.objects.filter(expires__lt=timezone.now()).delete()
        return count
