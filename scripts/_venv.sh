# Sourced by the other scripts: a virtual environment with the given requirements installed.
# VENV picks where it lives (default .venv); it is reinstalled only when the files change.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"

pick_python() {
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
            echo "$candidate"
            return
        fi
    done
    echo "Overworld needs Python 3.11 (python3.11 or python3 on PATH)." >&2
    exit 1
}

ensure_venv() {
    local requirements="$1" stamp digest
    if [ ! -x "$VENV/bin/python" ]; then
        "$(pick_python)" -m venv "$VENV"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    fi
    digest="$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -c1-16)"
    stamp="$VENV/.installed-$(basename "$requirements" .txt)-$digest"
    if [ ! -f "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/$requirements"
        touch "$stamp"
    fi
}
