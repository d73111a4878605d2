"""The admin login (/admin/login/), throttled like the API's login (docs/security.md).

Two limits, both counted by core.counters' WindowCounter in the shared store (Redis when
REDIS_URL is set, the database otherwise), so they hold across every worker and server:

- per client: OVERWORLD_THROTTLE_ADMIN_LOGIN password checks per address;
- per username: OVERWORLD_THROTTLE_LOGIN_FAILURES failed logins from all clients together. This
  is the API login's own counter (LoginFailureLimit): guesses through the API and the admin add
  up, and one lockout covers both doors.

A refused attempt checks no password: existing and unknown usernames, and the right password
during a lockout, all get the same form error and the same 429. Only the login's password check
is throttled; the rest of the admin is behind a session.
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from rest_framework.throttling import BaseThrottle

from core.counters import WindowCounter
from users.throttling import LoginFailureLimit

THROTTLED_MESSAGE = "Too many login attempts. Try again in %(wait)s."


def client_address(request) -> str:
    """The client as the API's throttle sees it: REMOTE_ADDR, or the address that
    OVERWORLD_NUM_PROXIES trusted proxies put in X-Forwarded-For."""
    return BaseThrottle().get_ident(request)


def admin_login_counter(address: str) -> WindowCounter:
    return WindowCounter(f"admin-login:{address}", settings.OVERWORLD_THROTTLE_ADMIN_LOGIN)


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """Django's admin login form, which counts each password check before it makes it.

    `throttled_wait` is set (seconds) when the attempt was refused, for the view's 429.
    """

    throttled_wait: int | None = None

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return super().clean()  # a field is missing: no password is checked, nothing to count
        client = admin_login_counter(client_address(self.request))
        if not client.hit():
            self.refuse(client.wait)
        failures = LoginFailureLimit(username)
        if not failures.reserve():
            self.refuse(failures.wait)
        # Django's check: authenticate() (which sends user_login_failed on a wrong password),
        # then is_active and is_staff. Any of them failing raises and leaves the failure counted.
        cleaned_data = super().clean()
        failures.release()
        return cleaned_data

    def refuse(self, wait: int) -> None:
        self.throttled_wait = int(wait)
        unit = "second" if self.throttled_wait == 1 else "seconds"
        raise ValidationError(
            THROTTLED_MESSAGE, code="throttled", params={"wait": f"{self.throttled_wait} {unit}"}
        )


class ThrottledAdminSite(admin.AdminSite):
    """The default admin site (users/admin_apps.py), whose login answers 429 when throttled.

    429 rather than the admin's usual 200 for a form error: the page still shows the admin's
    login form with the message, and scripts, proxies and monitoring see a throttle (with
    Retry-After) instead of an ordinary wrong password.
    """

    login_form = ThrottledAdminAuthenticationForm

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        wait = getattr(context.get("form"), "throttled_wait", None)
        if wait is not None:
            response.status_code = 429
            response["Retry-After"] = str(wait)
        return response
