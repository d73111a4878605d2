#!/usr/bin/env bash
# Run the test suite (arguments go to pytest). DATABASE_URL picks the database: SQLite when unset.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
ensure_venv requirements-dev.txt

export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-tests-only-secret-key-not-for-any-deployment-0123456789abcdef}"
"$VENV/bin/python" manage.py makemigrations --check --dry-run --verbosity 1

status=0
"$VENV/bin/python" -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure, not a pass." >&2
    exit 1
fi
exit "$status"
