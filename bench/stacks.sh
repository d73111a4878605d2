#!/usr/bin/env bash
# The serving-stack table of docs/performance.md ("Serving"), from a fresh clone, in one command:
#   bench/stacks.sh [--stacks NAME,...] [--phase-seconds 12] [--duration 4]
# The venv (runtime + bench requirements), wrk and Debian's nginx (for the "nginx (Debian)" rows;
# skipped without root), a fresh PostgreSQL database OVERWORLD_BENCH_DB (default
# overworld_stacks) on 127.0.0.1:5432 seeded by bench/prepare.py, then bench/stacks.py.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_venv.sh"
cd "$ROOT"
ensure_venv requirements.txt
stamp="$VENV/.installed-bench-$(cat requirements.txt bench/requirements.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
    touch "$stamp"
fi
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
if [ "${#missing[@]}" -gt 0 ] && [ "$(id -u)" -eq 0 ]; then
    apt_get=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
    "${apt_get[@]}" install -y -qq "${missing[@]}" >/dev/null ||
        { "${apt_get[@]}" update -qq && "${apt_get[@]}" install -y -qq "${missing[@]}" >/dev/null; }
fi

db="${OVERWORLD_BENCH_DB:-overworld_stacks}"
url="postgres://postgres@127.0.0.1:5432/$db"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
DATABASE_URL="$url" DJANGO_SETTINGS_MODULE=bench.settings DJANGO_DEBUG=0 \
    DJANGO_SECRET_KEY="bench-$(date +%s)-not-a-deployment-key-0123456789abcdef" \
    "$VENV/bin/python" bench/prepare.py --celebrities 100000 --out "$work/info.json"
exec "$VENV/bin/python" bench/stacks.py --database-url "$url" --pg-db "$db" --info "$work/info.json" "$@"
