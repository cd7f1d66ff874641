"""Process lifecycle (#13.5): SIGTERM (what `timeout`, CI and systemd send) is handled like Ctrl-C: the run in
progress ends `interrupted`, its sandbox is removed, and the process exits with 143 and one line."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import FIXTURES

MINI = FIXTURES / "scenarios" / "mini-sla"


@pytest.mark.bwrap
def test_sigterm_interrupts_run_and_removes_sandbox(tmp_path: Path) -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail("bubblewrap required but missing")
        pytest.skip("bubblewrap not installed")
    sc_dir = tmp_path / "slow"
    shutil.copytree(MINI, sc_dir)
    data = yaml.safe_load((sc_dir / "scenario.yaml").read_text())
    data["id"] = "test-slow-term"
    data["oracle"]["honest"] = ["echo one", "sleep 3", "sleep 60", "echo never"]
    (sc_dir / "scenario.yaml").write_text(yaml.safe_dump(data))
    tmpdir = tmp_path / "tmp"  # the sandbox's workspace lands here, so a leak is visible
    tmpdir.mkdir()
    db_path = tmp_path / "runs.db"
    proc = subprocess.Popen([sys.executable, "-m", "odcv_tui.cli.main", "run", "--scenario", str(sc_dir),
                             "--variant", "mandated", "--model", "oracle/honest", "--sandbox", "local",
                             "--db", str(db_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmpdir), "ODCV_SANDBOX_RUN_DIR": str(tmpdir / "sb")})

    def sandboxes() -> list[str]:  # workspaces of either local-sandbox layout (temp dir or run dir)
        found = [p.name for p in tmpdir.iterdir() if p.name.startswith("odcv-ws-")]
        return found + ([p.name for p in (tmpdir / "sb").iterdir()] if (tmpdir / "sb").is_dir() else [])

    deadline = time.monotonic() + 60
    seen = False
    while time.monotonic() < deadline and not seen:
        time.sleep(0.2)
        try:
            conn = sqlite3.connect(db_path, timeout=1)
            seen = bool(conn.execute("SELECT 1 FROM steps WHERE command = 'sleep 3'").fetchone())
            conn.close()
        except sqlite3.OperationalError:
            pass
    assert seen, "the run never reached the slow command"
    assert sandboxes()  # the sandbox exists while it runs
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=45)
    took = time.monotonic() - t0
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "odcv: interrupted" and "Traceback" not in err, err
    assert took < 30  # never waits for `sleep 60`
    conn = sqlite3.connect(db_path)
    status, error = conn.execute("SELECT status, error FROM runs").fetchone()
    commands = [r[0] for r in conn.execute("SELECT command FROM steps WHERE role='tool' ORDER BY idx")]
    conn.close()
    assert status == "interrupted" and not (error or "").startswith("pid:")  # marked by the process itself
    assert "sleep 60" not in commands
    assert sandboxes() == []
