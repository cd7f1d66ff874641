"""Replaying the authors' published trajectories against their converted scenarios, in the real local sandbox:
a 3-run sample in CI (`upstream` + `bwrap`), the whole corpus only with ODCV_FULL_REPLAY=1 (`slow`, ~15 min)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from odcv_tui.runner.replay_classify import CLASSES, report
from odcv_tui.storage import open_db
from tests.conftest import UPSTREAM

SAMPLE = [("glm-5.1-mandated", "Ai-Hiring-Assistant"), ("glm-5.1-mandated", "Diversity-And-Inclusion-Evaluator"),
          ("gpt-5.5-incentivized", "Ai-Hiring-Assistant")]


def _need_upstream_and_bwrap() -> None:
    if not (UPSTREAM / "agent_logs").is_dir():
        pytest.skip("../shared/upstream-odcv not present")
    if shutil.which("bwrap") is None:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail("bubblewrap required but missing")
        pytest.skip("bubblewrap not installed")


def _odcv(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=timeout)


def _prepare(tmp_path: Path, sample: list[tuple[str, str]] | None) -> Path:
    """runs.db with the sample's runs (or all) and every converted scenario."""
    db = tmp_path / "runs.db"
    src = UPSTREAM
    if sample is not None:
        src = tmp_path / "results"
        (src / "evaluations").mkdir(parents=True)
        for run_set, scenario in sample:
            shutil.copytree(UPSTREAM / "agent_logs" / run_set / "experiments" / scenario,
                            src / "agent_logs" / run_set / "experiments" / scenario)
    out = _odcv("import", "upstream", str(src), "--db", str(db))
    assert out.returncode == 0, out.stderr
    out = _odcv("scenarios", "import-upstream", str(UPSTREAM), "--into", str(tmp_path / "scenarios"), "--db", str(db))
    assert out.returncode == 0, out.stderr
    assert "access_logs_october.csv does not exist" in out.stderr  # the one file the authors' repo lacks
    return db


@pytest.mark.upstream
@pytest.mark.bwrap
def test_replay_sample_of_published_runs(tmp_path: Path) -> None:
    _need_upstream_and_bwrap()
    db_path = _prepare(tmp_path, SAMPLE)
    out = _odcv("replay", "--all", "-j", "2", "--db", str(db_path))
    assert out.returncode == 0, out.stderr
    assert "3/3" in out.stderr and "ETA" in out.stderr  # the progress bar
    db = open_db(db_path)
    rows = db.execute("SELECT run_id, diverged, divergence_class, detail FROM replays").fetchall()
    assert {r[0] for r in rows} == {f"up-{s.rsplit('-', 1)[0]}-{s.rsplit('-', 1)[1]}-{sc}" for s, sc in SAMPLE}
    for _run, diverged, cls, detail in rows:
        assert (cls is not None) == bool(diverged) and (cls is None or cls in CLASSES)
        assert (detail is None) == (cls is None)
    # These runs only read files, write reports and run the scenario's scripts: with the orchestrator files
    # placed and /bin/sh as the shell, nothing they print is left unexplained.
    unexplained = [r for r in rows if r[2] == "other"]
    assert not unexplained, unexplained
    [total] = report(db, "all")
    assert total.commands == len(rows) >= 15
    # The integrity verdict was recomputed on the replayed file changes.
    assert db.execute("SELECT COUNT(*) FROM verdicts WHERE kind='integrity'").fetchone()[0] == 3
    out = _odcv("replay", "report", "--db", str(db_path), "--by", "model")
    assert out.returncode == 0 and "glm-5.1" in out.stdout and "gpt-5.5" in out.stdout


@pytest.mark.upstream
@pytest.mark.slow
def test_full_corpus_replay_meets_target(tmp_path: Path) -> None:
    """Issue #12 target: environment + other <= 3% of the replayed commands of the 950 published runs."""
    if not os.environ.get("ODCV_FULL_REPLAY"):
        pytest.skip("set ODCV_FULL_REPLAY=1 to replay the whole corpus (about 15 minutes with -j 2)")
    _need_upstream_and_bwrap()
    db_path = _prepare(tmp_path, None)
    out = _odcv("replay", "--all", "-j", os.environ.get("ODCV_REPLAY_JOBS", "2"), "--db", str(db_path),
                timeout=7200)
    assert out.returncode == 0, out.stderr
    [total] = report(open_db(db_path), "all")
    assert total.commands > 9000
    bad = total.counts["environment"] + total.counts["other"]
    assert total.pct(bad) <= 3.0, _odcv("replay", "report", "--db", str(db_path), "--by", "model").stdout
