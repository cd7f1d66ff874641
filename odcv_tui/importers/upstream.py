"""`odcv import upstream`: the ODCV-Bench authors' published results -> runs, steps and verdicts.

Layout (one result set): `agent_logs/<model>-<variant>/experiments/<Scenario>/messages_record.txt`,
`evaluations/judge_all/{scores,reasons}_<judge>.csv`, `evaluations/judge_all/scores_final_median.csv`,
`evaluations/self_eval/{scores,reasons}_<name>.csv`. A repository root holds sets under
`existing_results/<set>/`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from odcv_tui.core.errors import InputError
from odcv_tui.core.judges import DEFAULT_JUDGE_MODELS, is_self_judgement
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import RunRecord, Verdict
from odcv_tui.importers.common import (
    ImportSummary,
    ParsedRun,
    Progress,
    StepRows,
    imap_runs,
    scenario_id_for,
    step_rows,
    write_runs,
)
from odcv_tui.importers.upstream_parse import (
    parse_messages,
    parse_score,
    read_table,
    shorter_than_stored,
    split_column,
)
from odcv_tui.judge.integrity_fill import integrity_verdict, stored_scenario

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


# (messages_record.txt or None, the run, judge integrity?) -> parsed by _parse_and_judge in a worker
_Job = tuple[Path | None, RunRecord, bool]
# Stored scenarios by id for integrity judging, set before the worker pool forks (inherited, not pickled per job).
_SCENARIOS: dict[str, Scenario | None] = {}


@dataclass
class SetPlan:
    """One result set, read but not yet parsed: a job per run and the verdicts from the score tables."""
    jobs: list[_Job]
    verdicts: list[list[Verdict]]


def plan_result_set(folder: Path, result_set: str = "current", judge_models: Mapping[str, str] | None = None,
                    *, integrity: bool = False) -> SetPlan:
    """Find every trajectory of one result set and read its score tables (nothing parsed or written yet)."""
    known = {**DEFAULT_JUDGE_MODELS, **(judge_models or {})}
    trajectories: dict[Key, Path] = {}
    logs = folder / "agent_logs"
    for run_dir in sorted(logs.iterdir()) if logs.is_dir() else []:
        mv = split_column(run_dir.name)
        if mv is None or not run_dir.is_dir():
            continue
        exp = run_dir / "experiments"
        for sc_dir in sorted(exp.iterdir()) if exp.is_dir() else []:
            record = sc_dir / "messages_record.txt"
            if record.is_file():
                trajectories[(mv[0], mv[1], scenario_id_for(sc_dir.name))] = record

    verdicts: dict[Key, list[Verdict]] = {}
    judge_dir, self_dir = folder / "evaluations" / "judge_all", folder / "evaluations" / "self_eval"

    def add(key: Key, judge: str, kind: str, score: float, reasoning: str) -> None:
        run_id = run_id_for(key[0], key[1], key[2], result_set)
        verdicts.setdefault(key, []).append(
            Verdict(run_id=run_id, judge=judge, kind=kind, score=score, reasoning=reasoning,  # type: ignore[arg-type]
                    rubric_version=f"upstream:{result_set}"))

    for path in _score_files(judge_dir):
        stem = path.stem.removeprefix("scores_")
        table = _read_scores(path)
        if path.name == MEDIAN_FILE:
            for key, s in table.scores.items():
                add(key, "median", "median", s, "")
            continue
        judge = judge_name(stem, known)
        for key, s in table.scores.items():
            # A judge scoring its own model is that model's self-evaluation, never one of its judges.
            kind = "self" if is_self_judgement(judge, key[0], judge_models) else "imported"
            add(key, judge, kind, s, table.reasons.get(key, ""))
    for path in _score_files(self_dir):
        stem = path.stem.removeprefix("scores_")
        table = _read_scores(path)
        for key, s in table.scores.items():
            add(key, stem, "self", s, table.reasons.get(key, ""))

    plan = SetPlan([], [])
    for key in sorted(set(trajectories) | set(verdicts)):
        model, variant, sid = key
        record = trajectories.get(key)
        run = RunRecord(id=run_id_for(model, variant, sid, result_set), scenario_id=sid, variant=variant,  # type: ignore[arg-type]
                        model=model, sandbox="upstream", status="completed", source="upstream",
                        source_set=result_set, error=None if record else NO_TRAJECTORY)
        plan.jobs.append((record, run, integrity))
        plan.verdicts.append(verdicts.get(key, []))
    return plan


def _parse_and_judge(job: _Job) -> tuple[StepRows, Verdict | None]:
    """One run's step rows and (optionally) its integrity verdict; module-level so worker processes can run it."""
    record, run, judge = job
    steps = parse_messages(record, run.id) if record else []
    verdict = integrity_verdict(_SCENARIOS.get(run.scenario_id), run, steps, []) if judge else None
    return step_rows(steps), verdict


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
    plans = [plan_result_set(folder, name, judge_models, integrity=integrity)
             for name, folder in find_result_sets(path, sets)]
    jobs = [j for p in plans for j in p.jobs]
    if not jobs:
        raise InputError(str(path), None, "no trajectories or scores found")
    table_verdicts = [v for p in plans for v in p.verdicts]
    summary = ImportSummary(source=str(path))
    stored = dict(db.execute("SELECT id, steps FROM runs WHERE source = 'upstream' AND steps > 0").fetchall())
    _SCENARIOS.clear()
    if integrity:
        for sid in {run.scenario_id for _, run, _ in jobs}:
            _SCENARIOS[sid] = stored_scenario(db, sid)

    def parsed() -> Iterator[ParsedRun]:
        done = imap_runs(_parse_and_judge, jobs, workers=workers)
        for (_, run, _), verdicts, (rows, integrity_v) in zip(jobs, table_verdicts, done, strict=True):
            # Never lose a longer run: a truncated or missing log on re-import keeps the stored trajectory.
            why = shorter_than_stored(stored, run.id, len(rows.rows))
            if why:
                summary.warnings.append(why)
                continue
            yield ParsedRun(run, [], verdicts + ([integrity_v] if integrity_v else []), prepared=rows)

    try:
        write_runs(db, parsed(), summary, progress=progress, total=len(jobs))
    finally:
        _SCENARIOS.clear()
    return summary
