"""`odcv import upstream`: the ODCV-Bench authors' published results -> runs, steps and verdicts.

Layout (one result set): `agent_logs/<model>-<variant>/experiments/<Scenario>/messages_record.txt`,
`evaluations/judge_all/{scores,reasons}_<judge>.csv`, `evaluations/judge_all/scores_final_median.csv`,
`evaluations/self_eval/{scores,reasons}_<name>.csv`. A repository root holds sets under
`existing_results/<set>/`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from odcv_tui.core.errors import InputError
from odcv_tui.core.judges import DEFAULT_JUDGE_MODELS, is_self_judgement
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import RunRecord
from odcv_tui.importers.common import ImportSummary, Progress, imap_runs, scenario_id_for
from odcv_tui.importers.rows import Row, RunRows, run_rows, table_verdict_row, verdict_row
from odcv_tui.importers.upstream_parse import (
    parse_messages,
    parse_score,
    read_table,
    shorter_than_stored,
    split_column,
)
from odcv_tui.importers.writer import write_runs
from odcv_tui.judge.integrity_fill import integrity_verdict, stored_scenario
from odcv_tui.storage.writes import now_iso

MEDIAN_FILE = "scores_final_median.csv"
NO_TRAJECTORY = "no trajectory in the published results"
Key = tuple[str, str, str]  # (model, variant, scenario id)


def run_id_for(model: str, variant: str, scenario_id: str, result_set: str = "current") -> str:
    """Deterministic, so re-importing replaces rather than duplicates (other sets get a prefix)."""
    prefix = "up-" if result_set in ("", "current") else f"up-{result_set}-"
    return f"{prefix}{model}-{variant}-{scenario_id}"


def find_result_sets(path: Path, sets: Iterable[str] | None = None) -> list[tuple[str, Path]]:
    """[(set name, folder)] for a results folder or a repository root with existing_results/<set>/."""
    if not path.is_dir():
        raise InputError(str(path), None, "not a directory")
    if (path / "agent_logs").is_dir() or (path / "evaluations").is_dir():
        name = path.name if path.parent.name == "existing_results" else "current"
        return [(name, path)]
    root = path / "existing_results"
    if root.is_dir():
        wanted = list(sets) if sets else ["current"]
        found = []
        for s in wanted:
            d = root / s
            if not ((d / "agent_logs").is_dir() or (d / "evaluations").is_dir()):
                have = sorted(p.name for p in root.iterdir() if p.is_dir())
                raise InputError(str(root), s, f"no such result set (have: {', '.join(have) or 'none'})")
            found.append((s, d))
        return found
    raise InputError(str(path), None, "not an ODCV-Bench results folder: expected agent_logs/ and "
                                      "evaluations/, or existing_results/<set>/")


def judge_name(stem: str, known: Iterable[str]) -> str:
    """`claude47` -> `claude47`; `old-grok` -> `grok` (a set's prefix), so the judge->model map applies."""
    known = set(known)
    if stem in known:
        return stem
    head, _, tail = stem.partition("-")
    return tail if head and tail in known else stem


@dataclass
class _Scores:
    scores: dict[Key, float]
    reasons: dict[Key, str]


def _read_scores(scores_path: Path) -> _Scores:
    scores: dict[Key, float] = {}
    for cell in read_table(scores_path):
        s = parse_score(scores_path, cell)
        if s is not None:
            scores[(cell.model, cell.variant, scenario_id_for(cell.scenario))] = s
    reasons: dict[Key, str] = {}
    reasons_path = scores_path.with_name("reasons_" + scores_path.name.removeprefix("scores_"))
    if reasons_path.is_file():
        for cell in read_table(reasons_path):
            text = cell.value.strip()
            if text and text not in ("N/A", "NA"):
                reasons[(cell.model, cell.variant, scenario_id_for(cell.scenario))] = text
    return _Scores(scores, reasons)


def _score_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("scores_*.csv") if p.is_file()) if folder.is_dir() else []


@dataclass(frozen=True)
class _Job:
    """One run to parse in a worker. Plain values, not a RunRecord or Verdicts: pickling pydantic models to and
    from the workers cost more than parsing the run."""
    record: str | None  # messages_record.txt
    run_id: str
    scenario_id: str
    variant: str
    model: str
    result_set: str
    verdicts: list[Row]  # the score tables' verdicts, as rows
    judge: bool  # add the integrity verdict
    created: str


# Stored scenarios by id for integrity judging, set before the worker pool forks (inherited, not pickled per job).
_SCENARIOS: dict[str, Scenario | None] = {}


def _subdirs(path: str) -> list[tuple[str, str]]:
    """(name, path) of the folders in `path`, sorted by name; none when it is not a folder."""
    try:
        with os.scandir(path) as it:
            return sorted((e.name, e.path) for e in it if e.is_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []


def plan_result_set(folder: Path, result_set: str = "current", judge_models: Mapping[str, str] | None = None,
                    *, integrity: bool = False, created: str = "") -> list[_Job]:
    """Find every trajectory of one result set and read its score tables (nothing parsed or written yet)."""
    known = {**DEFAULT_JUDGE_MODELS, **(judge_models or {})}
    # Strings and os.scandir, not Path objects: sorting and joining 100k Paths was a third of this function.
    trajectories: dict[Key, str] = {}
    for run_name, run_dir in _subdirs(str(folder / "agent_logs")):
        mv = split_column(run_name)
        if mv is None:
            continue
        for sc_name, sc_dir in _subdirs(os.path.join(run_dir, "experiments")):
            record = os.path.join(sc_dir, "messages_record.txt")
            if os.path.isfile(record):
                trajectories[(mv[0], mv[1], scenario_id_for(sc_name))] = record

    verdicts: dict[Key, list[Row]] = {}
    judge_dir, self_dir = folder / "evaluations" / "judge_all", folder / "evaluations" / "self_eval"
    rubric = f"upstream:{result_set}"

    def add(key: Key, judge: str, kind: str, score: float, reasoning: str) -> None:
        run_id = run_id_for(key[0], key[1], key[2], result_set)
        verdicts.setdefault(key, []).append(table_verdict_row(run_id, judge, kind, score, reasoning, rubric, created))

    for path in _score_files(judge_dir):
        stem = path.stem.removeprefix("scores_")
        table = _read_scores(path)
        if path.name == MEDIAN_FILE:
            for key, s in table.scores.items():
                add(key, "median", "median", s, "")
            continue
        judge = judge_name(stem, known)
        kinds: dict[str, str] = {}  # model -> kind for this judge (a table has 24 columns, 100k cells)
        for key, s in table.scores.items():
            if key[0] not in kinds:
                # A judge scoring its own model is that model's self-evaluation, never one of its judges.
                kinds[key[0]] = "self" if is_self_judgement(judge, key[0], judge_models) else "imported"
            add(key, judge, kinds[key[0]], s, table.reasons.get(key, ""))
    for path in _score_files(self_dir):
        stem = path.stem.removeprefix("scores_")
        table = _read_scores(path)
        for key, s in table.scores.items():
            add(key, stem, "self", s, table.reasons.get(key, ""))

    jobs = []
    for key in sorted(set(trajectories) | set(verdicts)):
        model, variant, sid = key
        record = trajectories.get(key)
        jobs.append(_Job(record, run_id_for(model, variant, sid, result_set), sid, variant,
                         model, result_set, verdicts.get(key, []), integrity, created))
    return jobs


def _parse_and_judge(job: _Job) -> RunRows:
    """One run as rows, with its integrity verdict if asked; module-level so worker processes can run it."""
    run = RunRecord(id=job.run_id, scenario_id=job.scenario_id, variant=job.variant, model=job.model,  # type: ignore[arg-type]
                    sandbox="upstream", status="completed", source="upstream", source_set=job.result_set,
                    error=None if job.record else NO_TRAJECTORY)
    steps = parse_messages(Path(job.record), run.id) if job.record else []
    verdicts = job.verdicts
    if job.judge:
        verdicts = verdicts + [verdict_row(integrity_verdict(_SCENARIOS.get(run.scenario_id), run, steps, []),
                                           job.created)]
    return run_rows(run, steps, verdicts, job.created)


def import_upstream(db: sqlite_utils.Database, path: Path, *, sets: Iterable[str] | None = None,
                    judge_models: Mapping[str, str] | None = None, integrity: bool = False,
                    progress: Progress | None = None, workers: int = 1) -> ImportSummary:
    """Import one results folder (or a repo root's existing_results/<set>/ folders) into runs.db.

    Idempotent: runs have deterministic ids and their steps/verdicts are replaced on re-import
    (labels survive). Everything is written in one transaction, so a file that fails to parse leaves runs.db
    as it was. With `integrity`, each run's integrity verdict is judged in memory and written with it.
    `workers` > 1 parses and judges in that many forked processes (the CLI uses one per core) while this
    process writes the runs already parsed.
    """
    path = Path(path)
    created = now_iso()
    jobs = [j for name, folder in find_result_sets(path, sets)
            for j in plan_result_set(folder, name, judge_models, integrity=integrity, created=created)]
    if not jobs:
        raise InputError(str(path), None, "no trajectories or scores found")
    summary = ImportSummary(source=str(path))
    stored = dict(db.execute("SELECT id, steps FROM runs WHERE source = 'upstream' AND steps > 0").fetchall())
    _SCENARIOS.clear()
    if integrity:
        for sid in {j.scenario_id for j in jobs}:
            _SCENARIOS[sid] = stored_scenario(db, sid)

    def parsed() -> Iterator[RunRows]:
        for rows in imap_runs(_parse_and_judge, jobs, workers=workers):
            # Never lose a longer run: a truncated or missing log on re-import keeps the stored trajectory.
            why = shorter_than_stored(stored, rows.id, len(rows.steps))
            if why:
                summary.warnings.append(why)
                continue
            yield rows

    try:
        write_runs(db, parsed(), summary, progress=progress, total=len(jobs))
    finally:
        _SCENARIOS.clear()
    return summary
