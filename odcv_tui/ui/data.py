"""What the explorer's screens read from runs.db: paged, filtered, sorted run lists, full-text step search
and one run's whole bundle. Headless (no textual): screens call these from worker threads."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from odcv_tui.core.types import FileChange, RunRecord, Step, Verdict
from odcv_tui.storage import queries as q

# Column key -> SQL expression; the Runs table shows these in this order.
COLUMNS: dict[str, str] = {
    "model": "model", "scenario": "scenario_id", "domain": "domain", "variant": "variant",
    "status": "status", "steps": "steps", "median": "judge_median", "integrity": "integrity_flag",
    "self": "self_score", "labels": "label_codes", "source": "source", "started": "started", "id": "id",
    "judges": "judge_count", "panel": "panel_size",  # scores got / judges asked: a partial panel shows
}
NUMERIC = {"steps", "median", "integrity", "self", "judges", "panel"}
_CMP = re.compile(r"^(\w+)(>=|<=|>|<|=|:)(.*)$")


@dataclass
class RunQuery:
    """A filter string (`model:gpt variant:mandated median>=3 flagged words...`) and a sort."""

    text: str = ""
    sort: str = "started"
    descending: bool = True
    errors: list[str] = field(default_factory=list)

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        self.errors = []
        try:
            tokens = shlex.split(self.text)
        except ValueError:
            tokens = self.text.split()
        for tok in tokens:
            m = _CMP.match(tok)
            if tok.lower() == "flagged":
                clauses.append("integrity_flag > 0")
            elif tok.lower() in ("misaligned", "mr"):
                clauses.append("judge_median >= 3")
            elif tok.lower() in ("is:fork", "is:forked"):  # forks / runs that have forks (runner/fork.py)
                clauses.append("parent_run_id IS NOT NULL" if tok.lower() == "is:fork" else
                               "EXISTS (SELECT 1 FROM runs c WHERE c.parent_run_id = runs.id)")
            elif m and m.group(1).lower() == "fork" and m.group(2) == ":":  # the forks of matching parents
                clauses.append("parent_run_id LIKE ?")
                args.append(f"%{m.group(3)}%")
            elif m and m.group(1).lower() in COLUMNS:
                col, op, val = m.group(1).lower(), m.group(2), m.group(3)
                expr = COLUMNS[col]
                if col in NUMERIC and op != ":":
                    try:
                        args.append(float(val))
                    except ValueError:
                        self.errors.append(f"{col}: {val!r} is not a number")
                        continue
                    clauses.append(f"{expr} {op} ?")
                elif op == "=":
                    clauses.append(f"{expr} = ?")
                    args.append(val)
                else:
                    clauses.append(f"{expr} LIKE ?")
                    args.append(f"%{val}%")
            elif m:
                self.errors.append(f"unknown column {m.group(1)!r} (use {', '.join(COLUMNS)})")
            else:
                clauses.append("(model LIKE ? OR scenario_id LIKE ? OR domain LIKE ? OR label_codes LIKE ?)")
                args += [f"%{tok}%"] * 4
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def order(self) -> str:
        expr = COLUMNS.get(self.sort, "started")
        # NULLs (unjudged) last whichever the direction, then a stable tiebreak.
        return f" ORDER BY {expr} IS NULL, {expr} {'DESC' if self.descending else 'ASC'}, id"


def count_runs(db: sqlite_utils.Database, query: RunQuery) -> int:
    where, args = query.where()
    return int(db.execute(f"SELECT count(*) FROM runs{where}", args).fetchone()[0])


def page_runs(db: sqlite_utils.Database, query: RunQuery, offset: int, limit: int) -> list[dict[str, Any]]:
    where, args = query.where()
    cols = ", ".join(f"{expr} AS {key}" for key, expr in COLUMNS.items())
    # A label made on a different version of the trajectory (re-imported since) is stale.
    stale = ("EXISTS (SELECT 1 FROM labels l WHERE l.run_id = runs.id AND l.trajectory_hash != ''"
             " AND l.trajectory_hash != runs.trajectory_hash) AS stale_labels")
    sql = f"SELECT {cols}, {stale} FROM runs{where}{query.order()} LIMIT ? OFFSET ?"
    return list(db.query(sql, [*args, int(limit), int(offset)]))


def fts_query(text: str) -> str:
    """User words -> a safe FTS5 query: each word quoted (no syntax errors from `-`, `:`, quotes)."""
    words = [w.replace('"', '""') for w in text.split() if w.strip()]
    return " ".join(f'"{w}"' for w in words)


@dataclass
class SearchHit:
    run_id: str
    idx: int
    model: str
    scenario_id: str
    variant: str
    snippet: str


def search_steps(db: sqlite_utils.Database, text: str, limit: int = 200) -> list[SearchHit]:
    match = fts_query(text)
    if not match:
        return []
    sql = ("SELECT s.run_id, s.idx, r.model, r.scenario_id, r.variant,"
           " snippet(steps_fts, -1, '«', '»', '…', 12) AS snip"
           " FROM steps_fts JOIN steps s ON s.rowid = steps_fts.rowid JOIN runs r ON r.id = s.run_id"
           " WHERE steps_fts MATCH ? ORDER BY rank LIMIT ?")
    return [SearchHit(*row) for row in db.execute(sql, [match, int(limit)]).fetchall()]


@dataclass
class RunBundle:
    run: RunRecord
    steps: list[Step]
    changes: dict[int, list[FileChange]]
    verdicts: list[Verdict]
    replays: dict[int, dict[str, Any]]
    scenario_title: str = ""
    judge_median: float | None = None  # runs.judge_median, as the Runs table and Compare show it
    change_counts: dict[int, int] = field(default_factory=dict)  # step idx -> all its file changes (loaded or not)

    @property
    def cited(self) -> dict[int, list[str]]:
        """step idx -> the judges citing it."""
        out: dict[int, list[str]] = {}
        for v in self.verdicts:
            for s in v.cited_steps:
                out.setdefault(s, []).append(v.judge)
        return out

    def position(self, idx: int) -> int:
        for i, s in enumerate(self.steps):
            if s.idx >= idx:
                return i
        return max(0, len(self.steps) - 1)


# At most this many file changes per step are loaded (protected ones first): a step that wrote 200k files
# otherwise cost seconds of pydantic objects before the TUI could draw anything (issue #13.2).
CHANGES_PER_STEP = 2_000


def load_changes(db: sqlite_utils.Database, run_id: str,
                 per_step: int = CHANGES_PER_STEP) -> tuple[dict[int, list[FileChange]], dict[int, int]]:
    """step idx -> its first `per_step` file changes (protected first, then in order), and step idx -> count."""
    counts = {int(i): int(n) for i, n in db.execute(
        "SELECT step_idx, count(*) FROM file_changes WHERE run_id=? GROUP BY step_idx", [run_id]).fetchall()}
    sql = ("SELECT * FROM file_changes WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER "
           "(PARTITION BY step_idx ORDER BY protected DESC, id) AS rn FROM file_changes WHERE run_id=?) WHERE rn <= ?)"
           " ORDER BY step_idx, protected DESC, id")
    changes: dict[int, list[FileChange]] = {}
    for r in db.query(sql, [run_id, int(per_step)]):
        data = {k: v for k, v in r.items() if k in FileChange.model_fields and v is not None}
        data["binary"], data["protected"] = bool(r["binary"]), bool(r["protected"])
        changes.setdefault(int(r["step_idx"]), []).append(FileChange(**data))
    return changes, counts


def load_bundle(db: sqlite_utils.Database, run_id: str) -> RunBundle | None:
    run = q.get_run(db, run_id)
    if run is None:
        return None
    changes, counts = load_changes(db, run_id)
    replays = {}
    if "replays" in db.table_names():
        replays = {r["step_idx"]: r for r in db.query("SELECT * FROM replays WHERE run_id=?", [run_id])}
    row = db.execute("SELECT title FROM scenarios WHERE id=?", [run.scenario_id]).fetchone()
    median = db.execute("SELECT judge_median FROM runs WHERE id=?", [run_id]).fetchone()[0]
    return RunBundle(run=run, steps=q.get_steps(db, run_id), changes=changes, verdicts=q.get_verdicts(db, run_id),
                     replays=replays, scenario_title=row[0] if row else "", judge_median=median,
                     change_counts=counts)


def summary_counts(db: sqlite_utils.Database) -> dict[str, int]:
    row = db.execute("SELECT count(*), count(DISTINCT model), count(DISTINCT scenario_id) FROM runs").fetchone()
    return {"runs": int(row[0]), "models": int(row[1]), "scenarios": int(row[2])}
