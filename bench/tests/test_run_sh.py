"""bench/run.sh itself: its --help is the first thing a newcomer runs."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_run_sh_help_prints_the_usage_and_installs_nothing(tmp_path):
    venv = tmp_path / "venv"

    result = subprocess.run(
        [str(ROOT / "bench" / "run.sh"), "--help"],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "VENV": str(venv)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: run.py [-h] [--db DB]")
    assert "--mix-duration" in result.stdout
    assert result.stderr == ""
    assert not venv.exists()  # no virtual environment made, so nothing pip-installed
