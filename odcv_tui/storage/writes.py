"""Writes to runs.db. Each write commits on its own so a crash loses nothing already written."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from typing import Any

import sqlite_utils

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import FileChange, Label, RunRecord, Step, Verdict


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def upsert_scenario(db: sqlite_utils.Database, sc: Scenario) -> None:
    with db.conn:
        db["scenarios"].upsert(
            {"id": sc.id, "domain": sc.domain, "title": sc.title, "content_hash": sc.content_hash(),
             "source": sc.source, "path": sc.base_dir or "", "gap_kinds": json.dumps(sc.gap_kinds),
             "data": sc.model_dump_json(exclude={"base_dir"})},
            pk="id",
        )


def upsert_scenario_stub(db: sqlite_utils.Database, scenario_id: str, *, domain: str = "unknown",
                         source: str = "upstream", title: str | None = None) -> None:
    """A scenario known only by id (e.g. from imported results); never overwrites a full entry."""
    with db.conn:
        db.execute(
            "INSERT OR IGNORE INTO scenarios (id, domain, title, content_hash, source, path, gap_kinds, data)"
            " VALUES (?, ?, ?, '', ?, '', '[]', '')",
            [scenario_id, domain, title or scenario_id.replace("-", " "), source],
        )


def insert_run(db: sqlite_utils.Database, run: RunRecord, *, owner_pid: int | None = None) -> None:
    row = run.model_dump()
    if owner_pid is not None and run.status == "running":
        row["error"] = f"pid:{owner_pid}"
    dom = db.execute("SELECT domain FROM scenarios WHERE id=?", [run.scenario_id]).fetchone()
    row["domain"] = dom[0] if dom else ""
    with db.conn:
        db["runs"].upsert(row, pk="id")


def update_run(db: sqlite_utils.Database, run_id: str, **fields: Any) -> None:
    with db.conn:
        db["runs"].update(run_id, fields)


def step_row(step: Step) -> dict[str, Any]:
    row = step.model_dump()
    row["tool_calls"] = json.dumps([c.model_dump() for c in step.tool_calls]) if step.tool_calls else None
    row["created"] = now_iso()
    return row


def add_step(db: sqlite_utils.Database, step: Step) -> None:
    """Persist one message the moment it exists (and bump the run's step count)."""
    with db.conn:
        db["steps"].insert(step_row(step), replace=True)
        db.execute("UPDATE runs SET steps = (SELECT COUNT(*) FROM steps WHERE run_id = ?) WHERE id = ?",
                   [step.run_id, step.run_id])


def add_file_changes(db: sqlite_utils.Database, changes: list[FileChange], source: str = "live") -> None:
    if not changes:
        return
    rows = [{**c.model_dump(), "binary": int(c.binary), "protected": int(c.protected), "source": source}
            for c in changes]
    with db.conn:
        db["file_changes"].insert_all(rows)


def add_verdict(db: sqlite_utils.Database, v: Verdict) -> None:
    """Insert or replace the verdict of (run, judge, kind), then refresh the run's summary columns."""
    row = v.model_dump()
    row["cited_steps"] = json.dumps(v.cited_steps)
    row["created"] = now_iso()
    with db.conn:
        db.execute("DELETE FROM verdicts WHERE run_id=? AND judge=? AND kind=?", [v.run_id, v.judge, v.kind])
        db["verdicts"].insert(row)
    refresh_run_summary(db, v.run_id)


def refresh_run_summary(db: sqlite_utils.Database, run_id: str) -> None:
    """Recompute runs.judge_median / integrity_flag / self_score / label_codes for one run.

    judge_median: the median of `llm` and `imported` judge scores, excluding judges flagged as the
    run's own model (see stats for the exclusion map; here the rows are already filtered by
    whoever wrote them); when no judge scores exist, an imported `median` row is used.
    """
    rows = db.execute("SELECT kind, score FROM verdicts WHERE run_id=? AND score IS NOT NULL",
                      [run_id]).fetchall()
    labels = db.execute("SELECT archetypes FROM labels WHERE run_id=?", [run_id]).fetchall()
    with db.conn:
        db["runs"].update(run_id, run_summary(rows, [a for (a,) in labels]))


def run_summary(scores: list[tuple[str, float]], label_archetypes: list[str | None]) -> dict[str, Any]:
    """The summary columns from a run's (verdict kind, score) pairs (score not NULL) and its labels'
    archetypes JSON; shared by refresh_run_summary and the bulk importer (storage/bulk.py)."""
    judge_scores = [s for k, s in scores if k in ("llm", "imported")]
    medians = [s for k, s in scores if k == "median"]
    integrity = [s for k, s in scores if k == "integrity"]
    self_scores = [s for k, s in scores if k == "self"]
    codes = sorted({c for a in label_archetypes for c in json.loads(a or "[]")})
    return {
        "judge_median": statistics.median(judge_scores) if judge_scores else (medians[0] if medians else None),
        "judge_count": len(judge_scores),
        "integrity_flag": (1 if max(integrity) > 0 else 0) if integrity else None,
        "self_score": self_scores[0] if self_scores else None,
        "label_codes": ",".join(codes) or None,
    }


def upsert_label(db: sqlite_utils.Database, label: Label) -> None:
    row = label.model_dump()
    row["archetypes"] = json.dumps(sorted(label.archetypes))
    row["cited_steps"] = json.dumps(sorted(set(label.cited_steps)))
    row["adjudicated"] = int(label.adjudicated)
    row["updated"] = now_iso()
    with db.conn:
        existing = db.execute("SELECT id, created FROM labels WHERE run_id=? AND labeler=? AND adjudicated=?",
                              [label.run_id, label.labeler, row["adjudicated"]]).fetchone()
        row["created"] = existing[1] if existing else row["updated"]
        if existing:
            db["labels"].update(existing[0], row)
        else:
            db["labels"].insert(row)
    refresh_run_summary(db, label.run_id)


def delete_run_children(db: sqlite_utils.Database, run_id: str, *, keep_labels: bool = True) -> None:
    """Remove a run's steps/changes/verdicts before a re-import (labels survive and may go stale)."""
    with db.conn:
        db.execute("DELETE FROM steps WHERE run_id=?", [run_id])
        db.execute("DELETE FROM file_changes WHERE run_id=?", [run_id])
        db.execute("DELETE FROM verdicts WHERE run_id=?", [run_id])
        if not keep_labels:
            db.execute("DELETE FROM labels WHERE run_id=?", [run_id])
