#!/usr/bin/env bash
# Back up the configured database (DATABASE_URL; default the embedded SQLite db.sqlite3) while
# the API serves: one file in OVERWORLD_BACKUP_DIR (default backups/), named with the database
# kind and a UTC timestamp; older ones pruned (OVERWORLD_BACKUP_KEEP, OVERWORLD_BACKUP_KEEP_DAYS).
# The last line printed is the backup's path; the exit status says whether it worked.
# docs/operations.md, "Backups and restore".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
ensure_venv requirements.txt
exec "$VENV/bin/python" manage.py backup_database "$@"
