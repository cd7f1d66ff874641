"""`odcv run --executor ray` on a real local Ray cluster: a head (no CPUs, it only coordinates) and two
worker nodes, each a separate `ray start` process group, torn down after. A sweep across both nodes lands
every run with every step; SIGKILL of one node's raylet mid-sweep leaves its run `interrupted` with the
steps it had streamed, and `--resume` completes the sweep on the surviving node."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import FIXTURES

MINI = FIXTURES / "scenarios" / "mini-sla"
pytestmark = [pytest.mark.bwrap, pytest.mark.timeout(600)]


def _need() -> None:
    missing = [what for what, ok in (("bubblewrap", shutil.which("bwrap")), ("ray", shutil.which("ray"))) if not ok]
    if missing:
        if os.environ.get("ODCV_REQUIRE_RAY") or os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail(f"required but missing: {', '.join(missing)}")
        pytest.skip(f"not installed: {', '.join(missing)}")


@pytest.fixture(scope="module")
def cluster():  # type: ignore[no-untyped-def]
    _need()
    from odcv_tui.runner.ray_local import LocalCluster

    c = LocalCluster().fast_failure_detection()
    try:
        c.start_head(num_cpus=0)
        c.add_node(num_cpus=1)
        c.add_node(num_cpus=1)
        yield c
    finally:
        c.stop()


def odcv(*args: str, **kw) -> subprocess.CompletedProcess[str]:  # type: ignore[no-untyped-def]
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=400, **kw)


def _sweep_id(stderr: str) -> str:
    return stderr.split("sweep ", 1)[1].split(":", 1)[0]


def test_sweep_across_the_cluster_lands_every_run(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "runs.db"
    out = odcv("run", "--scenario", str(MINI), "--model", "oracle/honest", "--model", "oracle/exploit",
               "--epochs", "2", "--executor", "ray", "--ray-address", cluster.address, "--db", str(db))
    assert out.returncode == 0, out.stderr
    con = sqlite3.connect(db)
    runs = con.execute("SELECT id, model, epoch, status, steps, integrity_flag, error FROM runs").fetchall()
    assert len(runs) == 8 and {r[3] for r in runs} == {"completed"} and {r[2] for r in runs} == {1, 2}
    for rid, model, _, _, steps, flag, error in runs:
        # The driver wrote every streamed row: steps (with FTS), file changes, the integrity verdict.
        assert steps >= 6 and con.execute("SELECT COUNT(*) FROM steps WHERE run_id=?", [rid]).fetchone()[0] == steps
        assert error is None  # no worker `pid:` owner marker left behind
        protected = con.execute("SELECT COUNT(*) FROM file_changes WHERE run_id=? AND protected=1", [rid]).fetchone()[0]
        assert (protected > 0) == (model == "oracle/exploit") == (flag == 1)
    assert con.execute("SELECT COUNT(*) FROM steps_fts WHERE steps_fts MATCH 'sla_report'").fetchone()[0] >= 8
    con.close()
    st = odcv("stats", "--db", str(db), "--format", "json", "--bootstrap", "0")
    assert st.returncode == 0, st.stderr
    epochs = {m["model"]: m["epochs"] for m in json.loads(st.stdout)["models"]}
    assert epochs["oracle/exploit"] == {"1": {"runs": 2, "mr": None}, "2": {"runs": 2, "mr": None}}


def test_killed_node_keeps_streamed_steps_and_resume_completes(cluster, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sc = tmp_path / "slow"
    shutil.copytree(MINI, sc)
    data = yaml.safe_load((sc / "scenario.yaml").read_text())
    data["id"] = "test-slow"
    data["oracle"]["honest"] = ["echo one", "echo two", "sleep 15", "echo done"]
    (sc / "scenario.yaml").write_text(yaml.safe_dump(data))
    db = tmp_path / "runs.db"
    proc = subprocess.Popen([sys.executable, "-m", "odcv_tui.cli.main", "run", "--scenario", str(sc), "--model",
                             "oracle/honest", "--epochs", "2", "--executor", "ray", "--ray-address", cluster.address,
                             "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, sleeping = time.monotonic() + 180, 0
        while time.monotonic() < deadline and sleeping < 2:
            time.sleep(0.3)
            try:
                con = sqlite3.connect(db, timeout=1)
                sleeping = con.execute("SELECT COUNT(DISTINCT run_id) FROM steps WHERE role='assistant' "
                                       "AND command='sleep 15'").fetchone()[0]
                con.close()
            except sqlite3.OperationalError:
                sleeping = 0
        assert sleeping == 2, "two runs (one per node) never reached the sleeping command"
        cluster.kill_node(cluster.nodes[-1])
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, err
    con = sqlite3.connect(db)
    lost = con.execute("SELECT id, error FROM runs WHERE status='interrupted'").fetchall()
    assert len(lost) == 1 and "NodeDied" in lost[0][1], con.execute("SELECT status, error FROM runs").fetchall()
    tools = [r[0].strip() for r in con.execute("SELECT stdout FROM steps WHERE run_id=? AND role='tool' ORDER BY idx",
                                               [lost[0][0]])]
    assert tools[:2] == ["one", "two"]  # streamed before the node died, kept after
    assert con.execute("SELECT 1 FROM steps WHERE run_id=? AND command='sleep 15'", [lost[0][0]]).fetchone()
    con.close()
    sweep_id = _sweep_id(err)
    again = odcv("run", "--resume", sweep_id, "--executor", "ray", "--ray-address", cluster.address, "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert "1 run(s) to do of 4" in again.stderr
    con = sqlite3.connect(db)
    done = con.execute("SELECT variant, epoch FROM runs WHERE sweep_id=? AND status='completed'", [sweep_id]).fetchall()
    assert sorted(done) == [("incentivized", 1), ("incentivized", 2), ("mandated", 1), ("mandated", 2)]
    assert con.execute("SELECT status FROM sweeps WHERE id=?", [sweep_id]).fetchone()[0] == "completed"
    con.close()
