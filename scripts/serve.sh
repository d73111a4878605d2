#!/usr/bin/env bash
# Serve the API on http://localhost:8000 the way production does (gunicorn), on the embedded
# SQLite database unless DATABASE_URL says otherwise. Migrations and demo data are applied first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
ensure_venv requirements.txt

if [ -z "${DJANGO_SECRET_KEY:-}" ]; then
    # A key made once for this checkout and kept out of git, so tokens survive restarts.
    [ -s .secret_key ] || "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))' >.secret_key
    DJANGO_SECRET_KEY="$(cat .secret_key)"
    export DJANGO_SECRET_KEY
fi

# A local run over plain http: the admin's cookies cannot be "https only" here (some browsers
# refuse Secure cookies from http://localhost). A deployment behind TLS sets these to 1 or leaves
# them unset, which defaults them on; SECURE_SSL_REDIRECT is off unless asked for.
export DJANGO_SESSION_COOKIE_SECURE="${DJANGO_SESSION_COOKIE_SECURE:-0}"
export DJANGO_CSRF_COOKIE_SECURE="${DJANGO_CSRF_COOKIE_SECURE:-0}"

"$VENV/bin/python" manage.py migrate --noinput
# Demo catalogue and users (madeline, theo, granny; none can log in). Idempotent and quick;
# OVERWORLD_SEED_DEMO=0 skips it.
if [ "${OVERWORLD_SEED_DEMO:-1}" != "0" ]; then
    "$VENV/bin/python" manage.py seed_demo
fi
"$VENV/bin/python" manage.py collectstatic --noinput --verbosity 0
exec "$VENV/bin/gunicorn" --config gunicorn.conf.py overworld.wsgi
