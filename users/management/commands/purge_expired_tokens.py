from django.core.management.base import BaseCommand
from django.utils import timezone
from knox.models import AuthToken


class Command(BaseCommand):
    help = "Delete expired knox tokens (run it from cron, e.g. hourly)."

    # users.authentication checks only the presented token's expiry and no longer deletes the
    # caller's other expired tokens on every request, as knox does: this does it in one query.

    def handle(self, *args, **options):
        deleted, _by_model = AuthToken.objects.filter(expiry__lt=timezone.now()).delete()
        self.stdout.write(f"Deleted {deleted} expired token(s).")
