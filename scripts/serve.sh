#!/usr/bin/env bash
# Serve the API on http://localhost:8000 (GUNICORN_BIND) the way production does (gunicorn), on
# the embedded SQLite database unless DATABASE_URL says otherwise. Migrations and demo data are
# applied first. The secret key is the checkout's own (.secret_key, made by manage.py on first
# use, overworld/local_key.py) unless DJANGO_SECRET_KEY is set.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"

# A busy port is found before anything is migrated or seeded, and named with the way out.
# Bound as gunicorn binds (SO_REUSEADDR), so only a listening socket counts as busy.
bind="${GUNICORN_BIND:-127.0.0.1:8000}"
"$(pick_python)" - "$bind" <<'PY' || exit 1
import socket, sys
bind = sys.argv[1]
given_host, _, port = bind.rpartition(":")
if bind.startswith(("unix:", "fd://")) or not port.isdigit():
    sys.exit(0)  # not a TCP address: gunicorn itself reports on it
host = given_host.strip("[]") or "0.0.0.0"
family = socket.AF_INET6 if ":" in host else socket.AF_INET
with socket.socket(family, socket.SOCK_STREAM) as probe:
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, int(port)))
    except OSError as exc:
        sys.exit(
            f"serve.sh: cannot listen on {bind} ({exc.strerror}); serve elsewhere with "
            f"GUNICORN_BIND={given_host or '127.0.0.1'}:{int(port) + 1} ./scripts/serve.sh"
        )
PY

ensure_venv requirements.txt

# A local run over plain http: the admin's cookies cannot be "https only" here (some browsers
# refuse Secure cookies from http://localhost). A deployment behind TLS sets these to 1 or leaves
# them unset, which defaults them on; SECURE_SSL_REDIRECT is off unless asked for.
export DJANGO_SESSION_COOKIE_SECURE="${DJANGO_SESSION_COOKIE_SECURE:-0}"
export DJANGO_CSRF_COOKIE_SECURE="${DJANGO_CSRF_COOKIE_SECURE:-0}"

# A database that does not exist or a server that does not answer: one line naming the fix
# (e.g. the createdb command), not migrate's chained tracebacks.
"$VENV/bin/python" manage.py check_database
"$VENV/bin/python" manage.py migrate --noinput
# Demo catalogue and users (madeline, theo, granny; none can log in). Idempotent and quick;
# OVERWORLD_SEED_DEMO=0 skips it.
if [ "${OVERWORLD_SEED_DEMO:-1}" != "0" ]; then
    "$VENV/bin/python" manage.py seed_demo
fi
"$VENV/bin/python" manage.py collectstatic --noinput --verbosity 0
exec "$VENV/bin/gunicorn" --config gunicorn.conf.py overworld.wsgi
