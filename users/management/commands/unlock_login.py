from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.counters import WindowCounter
from users.admin_login import admin_login_counter
from users.throttling import LoginFailureLimit


class Command(BaseCommand):
    help = (
        "Lift a login lockout now instead of waiting out its window: the failed-login count of "
        "USERNAME (API and admin share it), and with --client the count of that address."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", nargs="?", help="the locked-out username (any case)")
        parser.add_argument(
            "--client",
            metavar="ADDRESS",
            help="also reset this client address's API and admin login counts",
        )

    def handle(self, *args, username=None, client=None, **options):
        if username is None and client is None:
            raise CommandError("Name a USERNAME, a --client ADDRESS, or both.")
        # Counts live in the shared cache (Redis or the database): this works from any host.
        if username is not None:
            LoginFailureLimit(username).reset()
            self.stdout.write(f'Failed logins of "{username}" reset.')
        if client is not None:
            admin_login_counter(client).reset()
            api_rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"].get("auth")
            WindowCounter(f"auth:{client}", api_rate).reset()
            self.stdout.write(f"Login attempts of client {client} reset.")
