"""What every importer shares: the summary it returns, in-memory integrity judging and the bulk writer."""

from __future__ import annotations

import json
import multiprocessing
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import sqlite_utils

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import RunRecord, Step, Verdict, trajectory_hash
from odcv_tui.scenarios.domains import guess_domain
from odcv_tui.storage import bulk
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
    integrity: int = 0  # integrity verdicts written with the runs (not counted in `verdicts`)

    def line(self) -> str:
        extra = f", {self.runs_without_trajectory} without trajectory" if self.runs_without_trajectory else ""
        return (f"imported {self.runs} runs ({self.steps} steps, {self.verdicts} verdicts{extra}) "
                f"of {len(self.models)} models x {len(self.scenarios)} scenarios from {self.source}")


@dataclass
class StepRows:
    """A run's steps as `steps` rows (every column but `created`) with what the runs row says about them. Built
    where the run is parsed, so a worker process hands back plain tuples instead of pickled models."""
    rows: list[tuple[object, ...]]
    trajectory_hash: str
    model_calls: int


def step_rows(steps: list[Step]) -> StepRows:
    rows = []
    for s in steps:
        r = s.model_dump(exclude={"tool_calls"})
        r["tool_calls"] = json.dumps([c.model_dump() for c in s.tool_calls]) if s.tool_calls else None
        rows.append(tuple(r.get(c) for c in _STEP_COLS[:-1]))
    return StepRows(rows, trajectory_hash(steps), sum(s.role == "assistant" for s in steps))


@dataclass
class ParsedRun:
    run: RunRecord
    steps: list[Step] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    prepared: StepRows | None = None  # set instead of `steps` by importers that parse in worker processes

    def step_rows(self) -> StepRows:
        return self.prepared if self.prepared is not None else step_rows(self.steps)

    @property
    def n_steps(self) -> int:
        return len(self.prepared.rows) if self.prepared is not None else len(self.steps)


_STEP_COLS = ["run_id", "idx", "role", "content", "reasoning", "tool_calls", "tool_call_id", "command", "stdout",
              "stderr", "exit_code", "duration", "tokens_in", "tokens_out", "cost", "note", "created"]
_VERDICT_COLS = ["run_id", "judge", "kind", "score", "reasoning", "cited_steps", "rubric_version", "error",
                 "tokens", "cost", "cache_key", "created"]


def _insert_sql(table: str, cols: list[str]) -> str:
    return f"INSERT OR REPLACE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"


Progress = Callable[[str, int, int], None]  # (phase, done, total)
J = TypeVar("J")
R = TypeVar("R")


def _verdict_rows(p: ParsedRun, created: str) -> list[list[object]]:
    rows = []
    for v in p.verdicts:
        vr = v.model_dump()
        vr["cited_steps"] = json.dumps(v.cited_steps)
        vr["created"] = created
        rows.append([vr.get(c) for c in _VERDICT_COLS])
    return rows


def map_runs(fn: Callable[[J], R], jobs: list[J], *, workers: int = 1, progress: Progress | None = None,
             phase: str = "parse") -> list[R]:
    """`[fn(j) for j in jobs]`, in `workers` forked processes when there is enough work to pay for them
    (parsing and integrity judging are pure Python, so threads would not help). `fn` must be module-level."""
    out: list[R] = []
    if workers > 1 and len(jobs) >= 64 and "fork" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for r in pool.map(fn, jobs, chunksize=max(8, min(256, len(jobs) // (workers * 8)))):
                out.append(r)
                if progress and (len(out) % 500 == 0 or len(out) == len(jobs)):
                    progress(phase, len(out), len(jobs))
        return out
    for j in jobs:
        out.append(fn(j))
        if progress and (len(out) % 500 == 0 or len(out) == len(jobs)):
            progress(phase, len(out), len(jobs))
    return out


def add_integrity(db: sqlite_utils.Database, parsed: list[ParsedRun], progress: Progress | None = None) -> int:
    """Judge every parsed run's integrity in memory (no LLM) and add the verdict to it, on the stored scenario
    when runs.db has it, else on one inferred from the trajectory. Imported runs carry no file changes."""
    from odcv_tui.judge.integrity_fill import integrity_verdict, stored_scenario

    scenarios: dict[str, Scenario | None] = {}
    for i, p in enumerate(parsed):
        sid = p.run.scenario_id
        if sid not in scenarios:
            scenarios[sid] = stored_scenario(db, sid)
        p.verdicts = [v for v in p.verdicts if v.kind != "integrity"]
        p.verdicts.append(integrity_verdict(scenarios[sid], p.run, p.steps, []))
        if progress and (i % 500 == 0 or i + 1 == len(parsed)):
            progress("integrity", i + 1, len(parsed))
    return len(parsed)


def write_runs(db: sqlite_utils.Database, parsed: list[ParsedRun], summary: ImportSummary,
               domain: str = "unknown", source: str = "upstream", progress: Progress | None = None) -> None:
    """Replace each run with its parsed content (children deleted and re-inserted, labels kept) in ONE
    transaction for the whole import, so a failure anywhere leaves runs.db as it was and a re-import is
    idempotent. The full-text index is updated once for all steps (storage/bulk.py)."""
    created = w.now_iso()
    run_ids = list(dict.fromkeys(p.run.id for p in parsed))
    step_sql, verdict_sql = _insert_sql("steps", _STEP_COLS), _insert_sql("verdicts", _VERDICT_COLS)
    prepared = {p.run.id: p.step_rows() for p in parsed}
    with bulk.bulk_transaction(db):
        for sid in sorted({p.run.scenario_id for p in parsed}):
            db.execute("INSERT OR IGNORE INTO scenarios (id, domain, title, content_hash, source, path, gap_kinds,"
                       " data) VALUES (?, ?, ?, '', ?, '', '[]', '')",
                       [sid, guess_domain(sid) if domain == "unknown" else domain, sid.replace("-", " "), source])
        domains = dict(db.execute("SELECT id, domain FROM scenarios").fetchall())
        # A re-import leaves a run's steps alone when every stored column is already what was parsed: the
        # full-text index then needs no delete + re-insert for it (that was most of a re-import's time).
        stored = bulk.rows_by_key(db, "steps", "run_id", run_ids, _STEP_COLS[:-1], order="idx")
        changed = [r for r in run_ids if stored.get(r, []) != prepared[r].rows or not prepared[r].rows]
        db.conn.executemany("DELETE FROM file_changes WHERE run_id=?", ((r,) for r in run_ids))
        db.conn.executemany("DELETE FROM verdicts WHERE run_id=?", ((r,) for r in run_ids))
        with bulk.deferred_fts(db, "steps", "run_id", changed):
            db.execute(f"DELETE FROM steps WHERE run_id IN (SELECT k FROM {bulk.KEYS})")
            changed_set = set(changed)
            cols: list[str] = []
            for i, p in enumerate(parsed):
                sr = prepared[p.run.id]
                run = p.run.model_copy(update={"steps": len(sr.rows), "trajectory_hash": sr.trajectory_hash,
                                               "model_calls": sr.model_calls})
                row = run.model_dump()
                row["domain"] = domains.get(run.scenario_id, "")
                if not cols:
                    cols = list(row)
                    run_sql = (f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                               f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in cols)}")
                db.execute(run_sql, [row[c] for c in cols])
                if run.id in changed_set:
                    db.conn.executemany(step_sql, [(*r, created) for r in sr.rows])
                db.conn.executemany(verdict_sql, _verdict_rows(p, created))
                summary.runs += 1
                summary.steps += len(sr.rows)
                summary.verdicts += sum(v.kind != "integrity" for v in p.verdicts)
                summary.integrity += sum(v.kind == "integrity" for v in p.verdicts)
                summary.runs_without_trajectory += not sr.rows
                summary.scenarios.add(run.scenario_id)
                summary.models.add(run.model)
                if progress and (i % 500 == 0 or i + 1 == len(parsed)):
                    progress("write", i + 1, len(parsed))
            if progress:
                progress("index", 0, 1)
        bulk.refresh_summaries(db, run_ids)
