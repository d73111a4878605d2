"""Register/login limits that hold under concurrency and across every server worker.

DRF's SimpleRateThrottle reads a list of timestamps from the cache, decides, then writes the list
back: concurrent requests all read the same list, so under load more requests than the rate get
through (encode/django-rest-framework#8127). Here each limit is a fixed-window counter
(core.counters.WindowCounter) that is incremented and read in one atomic step, so at most `rate`
requests pass per window whatever the concurrency. Windows are aligned to the clock, so a client
may send up to twice the rate across a window boundary; the bound is what matters against
guessing.
"""

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from core.counters import WindowCounter


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
