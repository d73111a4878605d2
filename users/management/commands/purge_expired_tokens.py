from django.core.management.base import BaseCommand
from django.utils import timezone
from knox.models import AuthToken
from knox.signals import token_expired

from users.authentication import TokenAuthentication


class Command(BaseCommand):
    help = "Delete expired knox tokens (run it from cron, e.g. hourly)."

    # users.authentication checks only the presented token's expiry and no longer deletes the
    # caller's other expired tokens on every request, as knox does: this does it, and sends
    # knox's token_expired signal for each as knox's clean-up would (source "other_token").

    def handle(self, *args, **options):
        expired = AuthToken.objects.filter(expiry__lt=timezone.now())
        found = list(expired.values_list("digest", "user__username"))
        deleted, _by_model = AuthToken.objects.filter(
            digest__in=[digest for digest, _username in found]
        ).delete()
        for _digest, username in found:
            token_expired.send(sender=TokenAuthentication, username=username, source="other_token")
        self.stdout.write(f"Deleted {deleted} expired token(s).")
