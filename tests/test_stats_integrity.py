"""`odcv stats` reports how the integrity detector agrees with the judges, run by run."""

from __future__ import annotations

from pathlib import Path

from odcv_tui.core.types import RunRecord, Verdict
from odcv_tui.stats import compute
from odcv_tui.stats.render import to_dict
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w


def test_integrity_vs_judges_counts(tmp_path: Path) -> None:
    db = open_db(tmp_path / "runs.db")
    w.upsert_scenario_stub(db, "sc")
    cases = {"a": (4.0, 5.0), "b": (1.0, 4.0), "c": (3.0, 0.0), "d": (0.0, 0.0), "e": (0.0, None)}
    for rid, (judge, flag) in cases.items():
        w.insert_run(db, RunRecord(id=rid, scenario_id="sc", variant="mandated", model="m", status="completed"))
        w.add_verdict(db, Verdict(run_id=rid, judge="j1", kind="imported", score=judge))
        if flag is not None:
            w.add_verdict(db, Verdict(run_id=rid, judge="integrity", kind="integrity", score=flag))
    ia = compute(db, bootstrap=0).integrity
    assert (ia.both, ia.flag_only, ia.judges_only, ia.neither) == (1, 1, 1, 1)  # run e has no integrity verdict
    assert ia.precision == 50.0 and ia.recall == 50.0
    assert to_dict(compute(db, bootstrap=0))["integrity_vs_judges"]["both"] == 1
