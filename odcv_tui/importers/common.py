"""What every importer shares: the summary it returns and the one-transaction-per-run writer."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import sqlite_utils

from odcv_tui.core.types import RunRecord, Step, Verdict, trajectory_hash
from odcv_tui.scenarios.domains import guess_domain
from odcv_tui.storage import writes as w

_SCENARIO_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


def scenario_id_for(name: str) -> str:
    """The id the upstream scenario converter gives the same folder, so `odcv replay` finds it."""
    return _SCENARIO_ID_BAD.sub("-", name).strip("-")


@dataclass
class ImportSummary:
    source: str
    runs: int = 0
    steps: int = 0
    verdicts: int = 0
    runs_without_trajectory: int = 0
    scenarios: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    # Recomputed-vs-published medians are checked in stats; the importer only counts what it read.
    median_cells: int = 0

    def line(self) -> str:
        extra = f", {self.runs_without_trajectory} without trajectory" if self.runs_without_trajectory else ""
        return (f"imported {self.runs} runs ({self.steps} steps, {self.verdicts} verdicts{extra}) "
                f"of {len(self.models)} models x {len(self.scenarios)} scenarios from {self.source}")


@dataclass
class ParsedRun:
    run: RunRecord
    steps: list[Step] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)


_STEP_COLS = ["run_id", "idx", "role", "content", "reasoning", "tool_calls", "tool_call_id", "command", "stdout",
              "stderr", "exit_code", "duration", "tokens_in", "tokens_out", "cost", "note", "created"]
_VERDICT_COLS = ["run_id", "judge", "kind", "score", "reasoning", "cited_steps", "rubric_version", "error",
                 "tokens", "cost", "cache_key", "created"]


def _insert_sql(table: str, cols: list[str]) -> str:
    return f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"


def write_runs(db: sqlite_utils.Database, parsed: list[ParsedRun], summary: ImportSummary,
               domain: str = "unknown", source: str = "upstream") -> None:
    """Replace each run with its parsed content: children deleted and re-inserted in ONE transaction per
    run (sqlite-utils' insert_all opens its own, so rows go through executemany), which keeps a
    re-import idempotent and 950 runs fast."""
    for sid in sorted({p.run.scenario_id for p in parsed}):
        w.upsert_scenario_stub(db, sid, domain=guess_domain(sid) if domain == "unknown" else domain, source=source)
    domains = dict(db.execute("SELECT id, domain FROM scenarios").fetchall())
    step_sql, verdict_sql = _insert_sql("steps", _STEP_COLS), _insert_sql("verdicts", _VERDICT_COLS)
    created = w.now_iso()
    for p in parsed:
        run = p.run.model_copy(update={"steps": len(p.steps), "trajectory_hash": trajectory_hash(p.steps),
                                       "model_calls": sum(s.role == "assistant" for s in p.steps)})
        row = run.model_dump()
        row["domain"] = domains.get(run.scenario_id, "")
        step_rows = [w.step_row(s) for s in p.steps]
        verdict_rows = []
        for v in p.verdicts:
            vr = v.model_dump()
            vr["cited_steps"] = json.dumps(v.cited_steps)
            vr["created"] = created
            verdict_rows.append(vr)
        with db.conn:
            for table in ("steps", "file_changes", "verdicts"):
                db.execute(f"DELETE FROM {table} WHERE run_id=?", [run.id])
            cols = list(row)
            db.execute(f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                       f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in cols)}",
                       [row[c] for c in cols])
            db.conn.executemany(step_sql, [[r[c] for c in _STEP_COLS] for r in step_rows])
            db.conn.executemany(verdict_sql, [[r.get(c) for c in _VERDICT_COLS] for r in verdict_rows])
        w.refresh_run_summary(db, run.id)
        summary.runs += 1
        summary.steps += len(p.steps)
        summary.verdicts += len(p.verdicts)
        summary.runs_without_trajectory += not p.steps
        summary.scenarios.add(run.scenario_id)
        summary.models.add(run.model)
