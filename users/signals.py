"""What the users app does when Django signals a login event: failed logins are counted."""

from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver

from core import metrics


@receiver(user_login_failed, dispatch_uid="users.signals.count_login_failure")
def count_login_failure(sender, credentials=None, request=None, **kwargs) -> None:
    """Django's signal for every failed authenticate(): the API's login and the admin's (any
    view of the admin site, wherever it is mounted); `other` without a request (a shell)."""
    match = getattr(request, "resolver_match", None)
    if match is not None and match.app_name == "admin":
        where = "admin"
    elif getattr(request, "path_info", "").startswith("/api/"):
        where = "api"
    else:
        where = "other"
    metrics.login_failed(where)
