#!/usr/bin/env bash
# A PgBouncer of its own, in transaction pooling mode, in front of a PostgreSQL server: what
# docs/deployment.md ("PgBouncer") describes, for CI and local runs. Loopback only, trust auth.
#
#   scripts/pgbouncer.sh start DIR PORT [SERVER_HOST [SERVER_PORT]]   # config, log, pid in DIR
#   scripts/pgbouncer.sh stop DIR
#
# Then e.g. DATABASE_URL=postgres://postgres@127.0.0.1:PORT/overworld
#           DJANGO_DISABLE_SERVER_SIDE_CURSORS=1
set -euo pipefail

command="${1:?start or stop}"
dir="${2:?a directory for the config, log and pid file}"

case "$command" in
start)
    port="${3:?a port to listen on}"
    server_host="${4:-127.0.0.1}"
    server_port="${5:-5432}"
    mkdir -p "$dir"
    # PgBouncer refuses to run as root: started as root, it switches to the postgres user.
    run_as=""
    if [ "$(id -u)" -eq 0 ]; then
        run_as="user = postgres"
        chown postgres "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            echo "$dir: the postgres user cannot write here (a parent directory is private?)" >&2
            exit 1
        fi
    fi
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
; Any database name, passed through: the test suite creates and drops its own.
* = host=$server_host port=$server_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
admin_users = postgres
pool_mode = transaction
; Server connections per (database, user) pair, and per database at most: the shared server
; has max_connections = 100 for everyone. Clients beyond the pool wait for a free connection.
default_pool_size = 16
max_db_connections = 24
max_client_conn = 400
; libpq's "options" carries statement_timeout (issue 8) and JDBC-style clients send
; extra_float_digits; PgBouncer would refuse the connection on either without this.
ignore_startup_parameters = extra_float_digits,options
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
$run_as
INI
    echo '"postgres" ""' >"$dir/userlist.txt"
    pgbouncer -d -q "$dir/pgbouncer.ini"
    for _ in $(seq 50); do
        pg_isready -q -h 127.0.0.1 -p "$port" && exit 0
        sleep 0.1
    done
    echo "pgbouncer did not start on port $port:" >&2
    cat "$dir/pgbouncer.log" >&2 || true
    exit 1
    ;;
stop)
    if [ -f "$dir/pgbouncer.pid" ]; then
        kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    fi
    ;;
*)
    echo "usage: $0 start DIR PORT [SERVER_HOST [SERVER_PORT]] | stop DIR" >&2
    exit 2
    ;;
esac
