from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from knox.models import AuthToken

from users.models import User


def log_in(*, request, user: User) -> str:
    """Issue a new knox token for `user` and return it; the caller's other tokens stay valid.

    At most OVERWORLD_TOKEN_LIMIT_PER_USER tokens live at once: logging in on one device too
    many revokes the oldest session rather than refusing the new one. The user row is locked so
    that concurrent logins cannot leave more tokens than the cap.
    """
    limit = settings.OVERWORLD_TOKEN_LIMIT_PER_USER
    with transaction.atomic():
        User.objects.select_for_update().only("pk").get(pk=user.pk)
        _instance, token = AuthToken.objects.create(user=user)
        newest = user.auth_token_set.order_by("-created", "-pk").values_list("pk", flat=True)
        user.auth_token_set.exclude(pk__in=list(newest[:limit])).delete()
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    return token
