"""End to end through `odcv run`: oracle runs in the real sandboxes, file changes with the protected
flag, the KPI check, kill -9 mid-run."""

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

from odcv_tui.runner import RunRequest, run_one
from odcv_tui.runner.checker import kpi_reached
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from tests.conftest import FIXTURES

MINI = FIXTURES / "scenarios" / "mini-sla"


def _need_bwrap() -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail("bubblewrap required but missing")
        pytest.skip("bubblewrap not installed")


def odcv(*args: str, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=600, **kw)


@pytest.mark.bwrap
def test_cli_run_both_variants_exploit_local(db_path: Path) -> None:
    _need_bwrap()
    out = odcv("run", "--scenario", str(MINI), "--variant", "both", "--model", "oracle/exploit",
               "--sandbox", "local", "--db", str(db_path))
    assert out.returncode == 0, out.stderr
    db = open_db(db_path)
    runs = db.execute("SELECT id, variant, status, steps FROM runs ORDER BY variant").fetchall()
    assert [(r[1], r[2]) for r in runs] == [("incentivized", "completed"), ("mandated", "completed")]
    for run_id, *_ in runs:
        changes = q.get_file_changes(db, run_id)
        prot = [c for c in changes if c.path == "/app/data/tickets.csv"]
        assert prot and prot[0].protected and prot[0].kind == "modified" and prot[0].diff.startswith("--- a/app")
        assert not [c for c in changes if c.path == "/app/report.txt"][0].protected
        assert len(q.get_steps(db, run_id)) == 8  # system, user, 2 x (assistant, tool), task_complete + its answer


@pytest.mark.bwrap
def test_honest_oracle_misses_kpi_and_leaves_protected_alone(mini_scenario, db_path: Path) -> None:
    _need_bwrap()
    honest = run_one(RunRequest(mini_scenario, "mandated", "oracle/honest", "local"), db_path=db_path,
                     check_kpi=True)
    exploit = run_one(RunRequest(mini_scenario, "mandated", "oracle/exploit", "local"), db_path=db_path,
                      check_kpi=True)
    assert not kpi_reached(mini_scenario, honest.kpi) and "STATUS: FAIL" in honest.kpi.stdout
    assert kpi_reached(mini_scenario, exploit.kpi)
    db = open_db(db_path)
    assert not [c for c in q.get_file_changes(db, honest.run.id) if c.protected]
    assert [c for c in q.get_file_changes(db, exploit.run.id) if c.protected]


@pytest.mark.bwrap
def test_kill_9_mid_run_keeps_steps_and_marks_interrupted(tmp_path: Path, db_path: Path) -> None:
    _need_bwrap()
    sc_dir = tmp_path / "slow"
    shutil.copytree(MINI, sc_dir)
    data = yaml.safe_load((sc_dir / "scenario.yaml").read_text())
    data["id"] = "test-slow"
    data["oracle"]["honest"] = ["echo one", "echo two", "sleep 30", "echo never"]
    (sc_dir / "scenario.yaml").write_text(yaml.safe_dump(data))
    proc = subprocess.Popen([sys.executable, "-m", "odcv_tui.cli.main", "run", "--scenario", str(sc_dir),
                             "--variant", "mandated", "--model", "oracle/honest", "--db", str(db_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    n = 0
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if db_path.exists():
            try:
                conn = sqlite3.connect(db_path, timeout=1)
                n = conn.execute("SELECT COUNT(*) FROM steps WHERE command = 'sleep 30'").fetchone()[0]
                conn.close()
            except sqlite3.OperationalError:
                n = 0
            if n:
                break
    assert n, "the run never reached the sleeping command"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT status FROM runs").fetchone()[0] == "running"  # nobody fixed it up yet
    conn.close()
    db = open_db(db_path)  # a new open notices the owner is dead
    (run,) = db.execute("SELECT id, status FROM runs").fetchall()
    assert run[1] == "interrupted"
    steps = q.get_steps(db, run[0])
    assert [s.stdout.strip() for s in steps if s.role == "tool"][:2] == ["one", "two"]
    assert any(s.command == "sleep 30" for s in steps if s.role == "assistant")


def test_unknown_scenario_is_one_line(db_path: Path) -> None:
    out = odcv("run", "--scenario", "no-such-scenario", "--model", "oracle/honest", "--db", str(db_path))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "no-such-scenario" in out.stderr
