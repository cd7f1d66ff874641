"""Failed runs never count as aligned (issue #11 item 2), epochs averaged within cells before the scenario
bootstrap (issue #16), partial judge panels: every figure checked against values worked out by hand on DBs
written through the real write API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from odcv_tui.core.types import RunRecord, Verdict
from odcv_tui.judge.runsel import select_runs
from odcv_tui.stats import compute
from odcv_tui.stats.render import render, to_dict
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w


def _run(db, rid: str, model: str, scenario: str, variant: str, status: str, scores: list[float],  # type: ignore[no-untyped-def]
         epoch: int | None = None, panel_size: int | None = None) -> None:
    w.upsert_scenario_stub(db, scenario)
    w.insert_run(db, RunRecord(id=rid, scenario_id=scenario, variant=variant, model=model,  # type: ignore[arg-type]
                               status=status, epoch=epoch, panel_size=panel_size))  # type: ignore[arg-type]
    for j, s in enumerate(scores):
        w.add_verdict(db, Verdict(run_id=rid, judge=f"j{j}", kind="llm", score=s))


@pytest.fixture
def error_db(db_path: Path):  # type: ignore[no-untyped-def]
    db = open_db(db_path)
    _run(db, "ok-1", "m", "s1", "mandated", "completed", [4, 4])
    _run(db, "ok-2", "m", "s1", "incentivized", "completed", [0, 0])
    # An error run with a (bogus) misaligned score and one scored 0: neither may move MR or severity.
    _run(db, "err-1", "m", "s2", "mandated", "error", [5, 5])
    _run(db, "err-2", "m", "s2", "incentivized", "error", [0, 0])
    _run(db, "err-3", "broken", "s1", "mandated", "error", [])
    yield db
    db.conn.close()


def test_error_runs_are_left_out_of_mr_and_shown(error_db) -> None:  # type: ignore[no-untyped-def]
    rep = compute(error_db, bootstrap=0)
    m = {x.model: x for x in rep.models}
    # Only ok-1 (4) and ok-2 (0) count: MR 1/2, severity 2.0, one obedient pair (s1), none for s2.
    assert (m["m"].runs_judged, m["m"].misaligned, m["m"].mr, m["m"].mean_severity) == (2, 1, 50.0, 2.0)
    assert m["m"].errors == 2 and m["m"].runs_total == 2
    assert (m["m"].pairs.obedient, m["m"].pairs.total) == (1, 1)
    assert (m["broken"].errors, m["broken"].runs_judged) == (1, 0)
    assert {r.run_id for r in rep.runs} == {"ok-1", "ok-2"}
    d = to_dict(rep)
    assert {x["model"]: x["errors"] for x in d["models"]} == {"m": 2, "broken": 1}
    md = render(rep, "markdown")
    assert "| m | 2 | 50.0 |" in md and "3 run(s) ended in error" in md
    row = next(r for r in md.splitlines() if r.startswith("| m |"))
    assert row.split(" | ")[9] == "2"  # the errors column
    assert render(rep, "csv").splitlines()[0].endswith(",samr,errors,epochs,epoch_mr_sd")


def test_judge_skips_error_runs_unless_asked(error_db) -> None:  # type: ignore[no-untyped-def]
    assert select_runs(error_db) == ["ok-1", "ok-2"]
    assert set(select_runs(error_db, ["status=error"])) == {"err-1", "err-2", "err-3"}


def test_cli_stats_shows_errors_and_full_panel(error_db, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    # ok-3: a panel of 3 asked, 2 answered (4 and 4): scored by default, unscored with --full-panel.
    _run(error_db, "ok-3", "m", "s3", "mandated", "completed", [4, 4], panel_size=3)
    error_db.conn.close()

    def stats(*extra: str) -> dict:  # type: ignore[type-arg]
        r = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "stats", "--db", str(db_path), "--format",
                            "json", "--bootstrap", "0", *extra], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        return {m["model"]: m for m in json.loads(r.stdout)["models"]}

    part, full = stats(), stats("--full-panel")
    assert (part["m"]["runs"], part["m"]["misaligned"], part["m"]["partial_panel"], part["m"]["errors"]) == (3, 2, 1, 2)
    assert (full["m"]["runs"], full["m"]["misaligned"], full["m"]["errors"]) == (2, 1, 2)


def test_epochs_averaged_within_cell_before_bootstrap(db_path: Path) -> None:
    db = open_db(db_path)
    # Hand-worked: epoch 1 -> A-man 4, A-inc 0, B-man 0, B-inc 0 (MR 25%); epoch 2 -> A-man 4, A-inc 4, B 0, 0
    # (MR 50%). Overall 3/8 = 37.5%, sd(25, 50) = 17.68. Cells: A-man 1.0, A-inc 0.5, B 0, 0, so the
    # scenario bootstrap can only draw {A,A} 75%, {A,B} 37.5%, {B,B} 0%: 95% CI [0, 75]. (Last-epoch-wins
    # would make A-inc 1.0 and the upper bound 100.)
    scores = {(1, "A", "mandated"): 4, (1, "A", "incentivized"): 0, (2, "A", "mandated"): 4,
              (2, "A", "incentivized"): 4}
    for ep in (1, 2):
        for sc in ("A", "B"):
            for v in ("mandated", "incentivized"):
                s = scores.get((ep, sc, v), 0)
                _run(db, f"r-{ep}-{sc}-{v}", "m", sc, v, "completed", [s, s, s], epoch=ep, panel_size=3)
    rep = compute(db, bootstrap=2000, seed=0)
    m = rep.models[0]
    assert (m.runs_judged, m.misaligned, m.mr) == (8, 3, 37.5)
    assert m.epochs == {1: 25.0, 2: 50.0} and m.epoch_sd == pytest.approx(17.6777, abs=1e-3)
    assert (m.mr_ci_low, m.mr_ci_high) == (0.0, 75.0)
    # Pairs are formed within an epoch: e1 A obedient, e2 A both, B neither twice.
    assert (m.pairs.obedient, m.pairs.both, m.pairs.neither, m.pairs.proactive) == (1, 1, 2, 0)
    assert to_dict(rep)["models"][0]["epochs"] == {"1": {"runs": 4, "mr": 25.0}, "2": {"runs": 4, "mr": 50.0}}
    assert "e1 25.0 / e2 50.0 (sd 17.7)" in render(rep, "markdown")
    db.conn.close()


async def test_stats_screen_shows_error_count_per_model(error_db, db_path: Path) -> None:  # type: ignore[no-untyped-def]
    from odcv_tui.ui.screens.stats import StatsScreen
    from tests.test_ui_stats import Host, rows, settle

    error_db.conn.close()
    app = Host(lambda: StatsScreen(db_path, bootstrap=0))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        table = rows(scr)
        assert table["m"][1] == "2/2 +2 error" and table["m"][2] == "50.0"
        assert table["broken"][1] == "0/0 +1 error"
        summary = str(scr.query_one("#stats-summary").render())
        assert "3 run(s) ended in error" in summary
