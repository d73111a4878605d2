#!/usr/bin/env bash
# The benchmark, from a fresh clone: the venv (runtime + bench requirements), wrk, then
# bench/run.py (arguments go to it; --help lists them). docs/performance.md explains the output.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/_venv.sh"
cd "$ROOT"

# The usage first, installing nothing: bench/run.py parses its options with the standard library.
for arg in "$@"; do
    if [ "$arg" = "-h" ] || [ "$arg" = "--help" ]; then
        exec "$(pick_python)" bench/run.py --help
    fi
done

ensure_venv requirements.txt

stamp="$VENV/.installed-bench-$(cat requirements.txt bench/requirements.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
    touch "$stamp"
fi

if ! command -v wrk >/dev/null 2>&1; then
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    # Another apt run may hold the lock for a while on a shared machine: wait for it.
    apt_get=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
    "${apt_get[@]}" install -y -qq wrk >/dev/null ||
        { "${apt_get[@]}" update -qq && "${apt_get[@]}" install -y -qq wrk >/dev/null; }
fi

exec "$VENV/bin/python" bench/run.py "$@"
