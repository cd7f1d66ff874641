"""What every importer shares: the summary it returns, in-memory integrity judging and the bulk writer."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import sqlite_utils

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import RunRecord, Step, ToolCall, Verdict, trajectory_hash
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

    def count(self, p: ParsedRun, steps: int) -> None:
        self.runs += 1
        self.steps += steps
        self.verdicts += sum(v.kind != "integrity" for v in p.verdicts)
        self.integrity += sum(v.kind == "integrity" for v in p.verdicts)
        self.median_cells += sum(v.kind == "median" for v in p.verdicts)
        self.runs_without_trajectory += not steps
        self.scenarios.add(p.run.scenario_id)
        self.models.add(p.run.model)

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


def _call_dict(c: ToolCall) -> dict[str, str]:
    return {"id": c.id, "name": c.name, "arguments": c.arguments}  # = c.model_dump(), field order kept


def step_rows(steps: list[Step]) -> StepRows:
    rows = []
    cols = _STEP_COLS[:-1]
    for s in steps:
        # The fields as validated (all plain values but tool_calls): model_dump per step cost ~10% of an import.
        r = dict(s.__dict__)
        r["tool_calls"] = json.dumps([_call_dict(c) for c in s.tool_calls]) if s.tool_calls else None
        rows.append(tuple(r.get(c) for c in cols))
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


def imap_runs(fn: Callable[[J], R], jobs: list[J], *, workers: int = 1) -> Iterator[R]:
    """`fn(j) for j in jobs`, in order, computed in `workers` forked processes when there is enough work to pay
    for them (parsing and integrity judging are pure Python, so threads would not help). Lazy, so the caller
    writes early results while the workers parse later ones. `fn` must be module-level."""
    if workers > 1 and len(jobs) >= 64 and "fork" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            yield from pool.map(fn, jobs, chunksize=max(8, min(64, len(jobs) // (workers * 8))))
        return
    for j in jobs:
        yield fn(j)


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


CHUNK = 256  # runs per write batch: big enough for cheap statements, small enough to follow the workers closely


def write_runs(db: sqlite_utils.Database, parsed: Iterable[ParsedRun], summary: ImportSummary,
               domain: str = "unknown", source: str = "upstream", progress: Progress | None = None,
               total: int | None = None) -> None:
    """Replace each run with its parsed content (children deleted and re-inserted, labels kept) in ONE
    transaction for the whole import, so a failure anywhere (a worker's parse error included) leaves runs.db
    as it was and a re-import is idempotent. `parsed` may be lazy: runs are written in batches as they come,
    each batch's full-text entries in one statement (storage/bulk.py)."""
    created = w.now_iso()
    step_sql, verdict_sql = _insert_sql("steps", _STEP_COLS), _insert_sql("verdicts", _VERDICT_COLS)
    domains: dict[str, str] = {}
    run_ids: list[str] = []
    cols: list[str] = []
    with bulk.bulk_transaction(db), bulk.paused_fts(db, "steps", "run_id") as fts:
        # Smaller batches for small imports, so the bar moves (~20 ticks) and writing starts early.
        for batch in _batches(parsed, max(16, min(CHUNK, (total or CHUNK) // 20))):
            _scenarios(db, batch, domains, domain, source)
            prepared = {p.run.id: p.step_rows() for p in batch}
            ids = list(prepared)
            run_ids += ids
            # A re-import leaves a run's steps alone when every stored column is already what was parsed: the
            # full-text index then needs no delete + re-insert for it (that was most of a re-import's time).
            stored = bulk.rows_by_key(db, "steps", "run_id", ids, _STEP_COLS[:-1], order="idx")
            changed = {r for r in ids if stored.get(r, []) != prepared[r].rows or not prepared[r].rows}
            db.conn.executemany("DELETE FROM file_changes WHERE run_id=?", ((r,) for r in ids))
            db.conn.executemany("DELETE FROM verdicts WHERE run_id=?", ((r,) for r in ids))
            run_rows, step_batch, verdict_batch = [], [], []
            for p in batch:
                sr = prepared[p.run.id]
                row = p.run.model_dump()
                row.update(steps=len(sr.rows), trajectory_hash=sr.trajectory_hash, model_calls=sr.model_calls,
                           domain=domains.get(p.run.scenario_id, ""))
                cols = cols or list(row)
                run_rows.append([row[c] for c in cols])
                if p.run.id in changed:
                    step_batch += [(*r, created) for r in sr.rows]
                verdict_batch += _verdict_rows(p, created)
                summary.count(p, len(sr.rows))
            db.conn.executemany(
                f"INSERT INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
                f"ON CONFLICT(id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in cols)}", run_rows)
            with fts.replacing(changed):
                db.execute(f"DELETE FROM steps WHERE run_id IN (SELECT k FROM {bulk.KEYS})")
                db.conn.executemany(step_sql, step_batch)
            db.conn.executemany(verdict_sql, verdict_batch)
            if progress:
                progress("import", len(run_ids), max(total or 0, len(run_ids)))
        bulk.refresh_summaries(db, run_ids)


def _batches(items: Iterable[ParsedRun], n: int) -> Iterator[list[ParsedRun]]:
    it = iter(items)
    while batch := list(itertools.islice(it, n)):
        yield batch


def _scenarios(db: sqlite_utils.Database, batch: Iterable[ParsedRun], domains: dict[str, str], domain: str,
               source: str) -> None:
    """Scenario rows for the batch's new scenario ids (known ones keep theirs); `domains` caches id -> domain."""
    for sid in sorted({p.run.scenario_id for p in batch} - domains.keys()):
        db.execute("INSERT OR IGNORE INTO scenarios (id, domain, title, content_hash, source, path, gap_kinds, data)"
                   " VALUES (?, ?, ?, '', ?, '', '[]', '')",
                   [sid, guess_domain(sid) if domain == "unknown" else domain, sid.replace("-", " "), source])
        domains[sid] = db.execute("SELECT domain FROM scenarios WHERE id=?", [sid]).fetchone()[0]
