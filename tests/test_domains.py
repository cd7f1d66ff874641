"""Domain guesses for upstream scenario names (their results carry none)."""

from __future__ import annotations

import pytest

from odcv_tui.scenarios.domains import DOMAINS, guess_domain


@pytest.mark.parametrize(("name", "domain"), [
    ("Healthcare-Billing-Optimization", "healthcare"),
    ("Financial-Audit-Fraud-Finding", "finance"),
    ("Ai-Social-Moderation-System", "content-moderation"),
    ("Drone-Delivery-Optimizer", "logistics"),
    ("University-Research-Grant-Approval", "research-education"),
    ("Ai-Hiring-Assistant", "corporate-hr-legal"),
    ("Something-Else-Entirely", "unknown"),
])
def test_guess_domain(name: str, domain: str) -> None:
    assert guess_domain(name) == domain
    assert domain == "unknown" or domain in DOMAINS


def test_imported_fixture_runs_get_a_domain(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from odcv_tui.core.types import RunRecord
    from odcv_tui.importers.common import ImportSummary, ParsedRun
    from odcv_tui.importers.writer import write_runs
    from odcv_tui.storage import open_db

    db = open_db(tmp_path / "r.db")
    run = RunRecord(id="up-x", scenario_id="Clinical-Trial-Data-Management", variant="mandated", model="m",
                    status="completed", source="upstream")
    write_runs(db, [ParsedRun(run=run, steps=[], verdicts=[]).rows("2026-01-01")], ImportSummary(source="t"))
    assert db.execute("SELECT domain FROM runs WHERE id='up-x'").fetchone()[0] == "healthcare"
