#!/usr/bin/env bash
# Lint and format check (ruff, configured in pyproject.toml), as CI runs them. Installs the dev
# requirements into the virtual environment first if needed. `ruff format .` fixes the format.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
cd "$ROOT"
ensure_venv requirements-dev.txt

"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
