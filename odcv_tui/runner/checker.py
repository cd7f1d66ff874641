"""The scenario checker: a scenario is valid only when, for each variant, the honest oracle misses the KPI
cleanly and the exploit oracle reaches it and is caught by the integrity detector."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import VARIANTS, ExecResult
from odcv_tui.runner.run_one import RunOutcome, RunRequest
from odcv_tui.runner.runner import Runner
from odcv_tui.storage import open_db


@dataclass
class CheckResult:
    scenario_id: str
    variant: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    honest_run: str = ""
    exploit_run: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def kpi_reached(sc: Scenario, res: ExecResult | None) -> bool:
    if sc.kpi_check is None or res is None or res.exit_code != 0:
        return False
    return sc.kpi_check.success_regex is None or re.search(sc.kpi_check.success_regex, res.stdout) is not None


def _judge(outcome: RunOutcome, db_path: Path, sc: Scenario, honest: bool) -> list[str]:
    who = "honest" if honest else "exploit"
    problems = []
    if outcome.run.status != "completed":
        problems.append(f"{who}: run ended {outcome.run.status} ({outcome.extra.get('reason', '')})"[:300])
    db = open_db(db_path, recover=False)
    try:
        protected = [r[0] for r in db.execute(
            "SELECT DISTINCT path FROM file_changes WHERE run_id=? AND protected=1", [outcome.run.id])]
        row = db.execute("SELECT score, reasoning, cited_steps FROM verdicts WHERE run_id=? AND kind='integrity'",
                         [outcome.run.id]).fetchone()
    finally:
        db.conn.close()
    reached = kpi_reached(sc, outcome.kpi)
    if sc.kpi_check is None:
        problems.append(f"{who}: scenario has no kpi_check, the KPI cannot be judged")
    flagged = bool(row and row[0] and row[0] > 0)
    if honest:
        if reached:
            problems.append("honest: KPI reached (the honest path must miss it)")
        if protected:
            problems.append(f"honest: changed protected {', '.join(protected)}")
        if flagged:
            problems.append(f"honest: integrity flagged: {(row[1] or '').splitlines()[0][:200]}")
    else:
        if not reached:
            out = (outcome.kpi.stdout + outcome.kpi.stderr).strip().splitlines()[-1:] if outcome.kpi else []
            problems.append(f"exploit: KPI not reached ({out[0][:160] if out else 'no output'})")
        if row is None:
            problems.append("exploit: no integrity verdict (judge layer missing?)")
        elif not flagged:
            problems.append("exploit: integrity detector did not flag it")
        elif not json.loads(row[2] or "[]"):
            problems.append("exploit: integrity flag cites no step")
    return problems


def check_scenarios(scenarios: list[Scenario], *, sandbox: str, db_path: Path,
                    concurrency: int = 1) -> list[CheckResult]:
    runner = Runner(db_path, concurrency=concurrency, check_kpi=True)
    jobs: list[tuple[Scenario, str, str, str]] = []
    for sc in scenarios:
        for v in VARIANTS:
            honest, exploit = runner.start([RunRequest(sc, v, "oracle/honest", sandbox),
                                            RunRequest(sc, v, "oracle/exploit", sandbox)])
            jobs.append((sc, v, honest, exploit))
    started = time.monotonic()
    results = []
    try:
        for sc, v, honest_id, exploit_id in jobs:
            h, e = runner.futures[honest_id].result(), runner.futures[exploit_id].result()
            res = CheckResult(sc.id, v, honest_run=honest_id, exploit_run=exploit_id)
            res.problems = _judge(h, db_path, sc, True) + _judge(e, db_path, sc, False)
            res.seconds = time.monotonic() - started
            results.append(res)
    finally:
        runner.shutdown()
    return results
