"""Setup hygiene (#14.5): README's two commands install into a virtual environment (never the system's
Python, never upgrading unrelated packages) and the dependency script never kills processes by name."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"


def test_no_script_kills_processes_by_name() -> None:
    offenders = [f"{p.name}:{i}" for p in SCRIPTS.glob("*.sh")
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"\b(pkill|killall)\b", line) and not line.lstrip().startswith("#")]
    assert offenders == []


def test_readme_commands_activate_the_venv_before_installing() -> None:
    for name in ("demo.sh", "test.sh"):
        lines = (SCRIPTS / name).read_text().splitlines()
        venv = next(i for i, line in enumerate(lines) if line.strip() == "odcv_venv")
        pip = next(i for i, line in enumerate(lines) if "pip install" in line)
        assert venv < pip, name


def _bash(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "ODCV_PYTHON": sys.executable, **env})


def test_venv_helper_creates_and_activates_an_isolated_environment(tmp_path: Path) -> None:
    venv = tmp_path / "v"
    probe = ". scripts/venv.sh && odcv_venv && python3 -c 'import sys; print(sys.prefix); print(sys.base_prefix)'"
    out = _bash(probe, ODCV_VENV=str(venv))
    assert out.returncode == 0, out.stderr
    prefix, base = out.stdout.strip().splitlines()[-2:]
    assert Path(prefix) == venv and prefix != base  # a real venv, not the interpreter it came from
    again = _bash(probe, ODCV_VENV=str(venv))  # the second run reuses it
    assert "creating" not in again.stdout and again.stdout.strip().splitlines()[-2] == prefix
    none = _bash(". scripts/venv.sh && odcv_venv && python3 -c 'import sys; print(sys.prefix)'", ODCV_VENV="none")
    assert none.returncode == 0 and "current interpreter" in none.stdout
    assert none.stdout.strip().splitlines()[-1] != prefix
