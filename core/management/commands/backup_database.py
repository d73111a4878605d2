from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core import backups


class Command(BaseCommand):
    help = (
        "Back up the configured database into OVERWORLD_BACKUP_DIR while the API serves "
        "(SQLite online backup, or pg_dump --format=custom), prune old backups, and print the "
        "backup's path as the last line. scripts/backup.sh runs it."
    )

    def handle(self, *args, **options):
        try:
            path = backups.backup()
        except (backups.BackupError, DatabaseError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(str(path.resolve()))
