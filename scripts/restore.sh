#!/usr/bin/env bash
# Restore a backup made by backup.sh into the database DATABASE_URL names (SQLite file or
# PostgreSQL database, which must exist), then check it: SQLite integrity_check, migrations up to
# date, row counts printed. Refuses a database that already has tables unless --force.
#   ./scripts/restore.sh [--force] BACKUP
# Point-in-time recovery on PostgreSQL is pgBackRest's own restore (docs/operations.md);
# `--to TIME` prints that command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
args=() previous=""  # the backup's path as given, from where the script was called
for arg in "$@"; do
    case "$previous:$arg" in
        --to:* | *:-*) args+=("$arg") ;;
        *) args+=("$(realpath -m -- "$arg")") ;;
    esac
    previous="$arg"
done
cd "$ROOT"
ensure_venv requirements.txt
exec "$VENV/bin/python" manage.py restore_database ${args[@]+"${args[@]}"}
