from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core import backups


class Command(BaseCommand):
    help = (
        "Restore a backup made by backup_database into the database DATABASE_URL names, then "
        "check it: SQLite integrity_check, migrations up to date, row counts. "
        "scripts/restore.sh runs it."
    )

    def add_arguments(self, parser):
        parser.add_argument("backup", type=Path, nargs="?")
        parser.add_argument(
            "--force",
            action="store_true",
            help="restore over a database that already has tables (its contents are replaced)",
        )
        parser.add_argument(
            "--to",
            metavar="TIME",
            help="not here: a restore to a time is pgBackRest's (docs/operations.md)",
        )

    def handle(self, *args, backup, force, to, **options):
        if to:
            raise CommandError(
                "a restore to a time replaces a stopped PostgreSQL cluster's data directory:"
                " sudo -u postgres pgbackrest --stanza=overworld --delta --type=time"
                f' --target="{to}" --target-action=promote restore'
                ' (docs/operations.md, "Point-in-time recovery on PostgreSQL")'
            )
        if backup is None:
            raise CommandError("which backup? restore.sh BACKUP (a file backup.sh made)")
        try:
            restored = backups.restore(backup, force=force)
        except (backups.BackupError, DatabaseError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"restored {backup} into {restored.target} in {restored.seconds:.1f} s")
        for label, count in restored.counts.items():
            self.stdout.write(f"  {label:<9} {count:>12,}")
        try:
            call_command("migrate", check=True, verbosity=0)
        except SystemExit as exit_:
            raise CommandError(
                "the restored database has unapplied migrations: run manage.py migrate"
            ) from exit_
        self.stdout.write("migrations: up to date")
