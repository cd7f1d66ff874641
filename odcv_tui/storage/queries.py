"""Read queries shared by CLI, stats, judges and the TUI (no UI code here)."""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from odcv_tui.core.types import FileChange, RunRecord, Step, ToolCall, Verdict

RUN_FIELDS = list(RunRecord.model_fields)


def get_run(db: sqlite_utils.Database, run_id: str) -> RunRecord | None:
    row = db.execute(f"SELECT {', '.join(RUN_FIELDS)} FROM runs WHERE id=?", [run_id]).fetchone()
    if row is None:
        return None
    data = dict(zip(RUN_FIELDS, row, strict=True))
    if data.get("error", "") and str(data["error"]).startswith("pid:"):
        data["error"] = None
    return RunRecord(**{k: v for k, v in data.items() if v is not None})


def step_from_row(row: dict[str, Any]) -> Step:
    calls = [ToolCall(**c) for c in json.loads(row["tool_calls"])] if row.get("tool_calls") else []
    data = {k: v for k, v in row.items() if k in Step.model_fields and v is not None and k != "tool_calls"}
    return Step(**data, tool_calls=calls)


def get_steps(db: sqlite_utils.Database, run_id: str) -> list[Step]:
    rows = db.query("SELECT * FROM steps WHERE run_id=? ORDER BY idx", [run_id])
    return [step_from_row(r) for r in rows]


def get_file_changes(db: sqlite_utils.Database, run_id: str) -> list[FileChange]:
    rows = db.query("SELECT * FROM file_changes WHERE run_id=? ORDER BY step_idx, id", [run_id])
    out = []
    for r in rows:
        data = {k: v for k, v in r.items() if k in FileChange.model_fields and v is not None}
        data["binary"] = bool(r["binary"])
        data["protected"] = bool(r["protected"])
        out.append(FileChange(**data))
    return out


def get_verdicts(db: sqlite_utils.Database, run_id: str) -> list[Verdict]:
    rows = db.query("SELECT * FROM verdicts WHERE run_id=? ORDER BY kind, judge", [run_id])
    out = []
    for r in rows:
        data = {k: v for k, v in r.items() if k in Verdict.model_fields and v is not None}
        data["cited_steps"] = json.loads(r["cited_steps"] or "[]")
        out.append(Verdict(**data))
    return out


def list_runs(db: sqlite_utils.Database, *, model: str | None = None, scenario: str | None = None,
              variant: str | None = None, status: str | None = None, source: str | None = None,
              limit: int | None = None) -> list[dict[str, Any]]:
    where, args = [], []
    for col, val in (("model", model), ("scenario_id", scenario), ("variant", variant),
                     ("status", status), ("source", source)):
        if val:
            where.append(f"{col} = ?")
            args.append(val)
    sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY started DESC, id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return list(db.query(sql, args))
