"""What every importer shares: the summary it returns, parsed runs, worker processes and in-memory integrity
judging (the writer is importers/writer.py)."""

from __future__ import annotations

import functools
import multiprocessing
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

import sqlite_utils

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import RunRecord, Step, Verdict
from odcv_tui.importers.rows import RunRows, run_rows, verdict_row

_SCENARIO_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


@functools.lru_cache(maxsize=65536)  # an import asks for every scenario name once per score-table cell
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

    def count(self, r: RunRows) -> None:
        kinds = r.kinds()
        self.runs += 1
        self.steps += len(r.steps)
        self.verdicts += sum(k != "integrity" for k in kinds)
        self.integrity += kinds.count("integrity")
        self.median_cells += kinds.count("median")
        self.runs_without_trajectory += not r.steps
        self.scenarios.add(str(r.run["scenario_id"]))
        self.models.add(str(r.run["model"]))

    def line(self) -> str:
        extra = f", {self.runs_without_trajectory} without trajectory" if self.runs_without_trajectory else ""
        return (f"imported {self.runs} runs ({self.steps} steps, {self.verdicts} verdicts{extra}) "
                f"of {len(self.models)} models x {len(self.scenarios)} scenarios from {self.source}")


@dataclass
class ParsedRun:
    run: RunRecord
    steps: list[Step] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)

    def rows(self, created: str) -> RunRows:
        return run_rows(self.run, self.steps, [verdict_row(v, created) for v in self.verdicts], created)


Progress = Callable[[str, int, int], None]  # (phase, done, total)
J = TypeVar("J")
R = TypeVar("R")


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
