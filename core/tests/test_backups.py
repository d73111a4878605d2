"""core/backups.py without a database: names, retention, and what a failed backup leaves.
Backups restored for real: overworld/tests/test_backups.py."""

import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command

from core import backups


def make(folder, kind, when: datetime):
    extension = backups.EXTENSIONS[kind]
    path = folder / f"overworld-{kind}-{when.strftime('%Y%m%dT%H%M%SZ')}.{extension}"
    path.write_bytes(b"x")
    return path


@pytest.fixture
def folder(settings, tmp_path):
    settings.OVERWORLD_BACKUP_DIR = tmp_path
    settings.OVERWORLD_BACKUP_KEEP = 3
    settings.OVERWORLD_BACKUP_KEEP_DAYS = 0
    return tmp_path


def test_prune_keeps_the_newest_of_each_kind(folder):
    now = datetime.now(UTC)
    sqlite = [make(folder, "sqlite", now - timedelta(hours=n)) for n in range(5)]
    postgresql = [make(folder, "postgresql", now - timedelta(hours=n)) for n in range(2)]
    other = folder / "notes.txt"
    other.write_text("not a backup")

    stale = folder / f".{sqlite[4].name}.partial"  # a backup killed a day ago
    stale.write_bytes(b"half")
    os.utime(stale, (time.time() - 90000, time.time() - 90000))
    running = folder / f".{sqlite[0].name}.partial"  # one being written now
    running.write_bytes(b"half")

    removed = backups.prune("sqlite")

    assert sorted(removed) == sorted([stale, *sqlite[3:]])
    assert sorted(folder.iterdir()) == sorted([*sqlite[:3], *postgresql, other, running])


def test_prune_by_age_never_removes_the_backup_just_made(folder, settings):
    settings.OVERWORLD_BACKUP_KEEP = 0
    settings.OVERWORLD_BACKUP_KEEP_DAYS = 7
    now = datetime.now(UTC)
    recent = make(folder, "postgresql", now - timedelta(days=6))
    old = make(folder, "postgresql", now - timedelta(days=8))
    just_made = make(folder, "postgresql", now - timedelta(days=30))  # a clock gone wrong

    removed = backups.prune("postgresql", keep_path=just_made)

    assert removed == [old]
    assert sorted(folder.iterdir()) == sorted([recent, just_made])


def test_backup_that_fails_leaves_no_file(folder, monkeypatch):
    def half_written(target):
        target.write_bytes(b"SQLite format 3\0 and then the disk filled up")
        raise backups.BackupError("disk full")

    monkeypatch.setattr(backups, "kind", lambda: "sqlite")
    monkeypatch.setattr(backups, "_backup_sqlite", half_written)

    with pytest.raises(backups.BackupError, match="disk full"):
        backups.backup()

    assert list(folder.iterdir()) == []


def test_backup_kind_refuses_a_file_that_is_no_backup(tmp_path):
    path = tmp_path / "overworld-sqlite-20261201T000000Z.sqlite3"
    path.write_bytes(b"PK\x03\x04 a zip file")

    with pytest.raises(backups.BackupError, match="neither a SQLite backup nor a pg_dump"):
        backups.backup_kind(path)


def test_restore_to_a_time_names_the_pgbackrest_command():
    with pytest.raises(CommandError) as raised:
        call_command("restore_database", to="2026-12-01 14:04:59+00")

    assert '--type=time --target="2026-12-01 14:04:59+00" --target-action=promote' in str(
        raised.value
    )
