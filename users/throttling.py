"""Register/login limits that hold under concurrency and across every server worker.

DRF's SimpleRateThrottle reads a list of timestamps from the cache, decides, then writes the list
back: concurrent requests all read the same list, so under load more requests than the rate get
through (encode/django-rest-framework#8127). Here each limit is a fixed-window counter that is
incremented and read in one atomic step, so at most `rate` requests pass per window whatever the
concurrency:

- on a cache with an atomic increment (Redis, memcached): `cache.add` + `cache.incr`;
- otherwise (the database cache, the default): one `INSERT ... ON CONFLICT DO UPDATE SET count =
  count + 1 RETURNING count` on the `ThrottleCounter` table, atomic on PostgreSQL and SQLite alike.

Windows are aligned to the clock (a 10/min window is a calendar minute), so a client may send up to
twice the rate across a window boundary; the bound is what matters against guessing.
"""

import hashlib
import logging
import math
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.memcached import BaseMemcachedCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router
from django.db.models import F
from django.utils import timezone
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from core import metrics
from users.models import ThrottleCounter

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


class AuthRateThrottle(BaseThrottle):
    """Per-client limit on register and login, at the `auth` rate (OVERWORLD_THROTTLE_AUTH).

    The client is REMOTE_ADDR, or the address OVERWORLD_NUM_PROXIES trusted proxies put in
    X-Forwarded-For. Register and login share one count. The rate is read per request so that
    it follows the settings (and `override_settings` in tests).
    """

    scope_attr = "throttle_scope"

    def allow_request(self, request, view) -> bool:
        scope = getattr(view, self.scope_attr, None)
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope) if scope else None
        self.counter = WindowCounter(f"{scope}:{self.get_ident(request)}", rate)
        return self.counter.hit()

    def wait(self) -> int:
        return self.counter.wait


class LoginFailureLimit:
    """At most OVERWORLD_THROTTLE_LOGIN_FAILURES failed logins per username, from any client.

    The per-client throttle does not stop a guesser spread over many addresses; this does. Each
    attempt reserves one failure before the password is checked and a successful login gives it
    back, so concurrent guesses cannot slip past the limit between a check and a count. Once the
    limit is reached every login to that username is refused until the window ends, the correct
    password included (the limit is no oracle), and no password is hashed. `users.services.log_in`
    and the admin login (users/admin_login.py) count; each answers 429 in its own way.
    """

    def __init__(self, username: str):
        rate = settings.OVERWORLD_THROTTLE_LOGIN_FAILURES
        # casefold() merges at least the case variants the database's LOWER() does: "Madeline"
        # and "MADELINE" are one account (case-insensitive login), so they share one count.
        self.counter = WindowCounter(f"login-failures:{username.casefold()}", rate)

    def reserve(self) -> bool:
        """Count this attempt as a failure until it succeeds; False when none are left."""
        return self.counter.hit()

    @property
    def wait(self) -> int:
        """Whole seconds until the window ends and logins to this username are counted anew."""
        return self.counter.wait

    def release(self) -> None:
        """The attempt succeeded: it was no failure."""
        self.counter.unhit()

    def reset(self) -> None:
        """Lift the lockout now: the username's failures of this window are forgotten."""
        self.counter.reset()
