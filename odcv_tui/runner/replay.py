"""Re-execute a stored trajectory's bash commands in our sandbox (upstream logs carry no file changes):
attach per-step file changes to the stored run, record where the replayed output diverges from what was
recorded, then run the integrity detector on it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from odcv_tui.core.errors import InputError
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import Step
from odcv_tui.sandbox.filediff import diff_snapshots
from odcv_tui.scenarios.loader import load_scenario
from odcv_tui.storage import queries as q
from odcv_tui.storage import writes as w


@dataclass
class ReplayResult:
    run_id: str
    commands: int = 0
    diverged: int = 0
    changes: int = 0
    protected_changes: int = 0
    integrity_score: float | None = None


def scenario_for_run(db: sqlite_utils.Database, scenario_id: str) -> Scenario:
    row = db.execute("SELECT path FROM scenarios WHERE id=?", [scenario_id]).fetchone()
    if not row or not row[0] or not (Path(row[0]) / "scenario.yaml").exists():
        raise InputError(scenario_id, "scenario", "not imported: run `odcv scenarios import-upstream DIR` first")
    return load_scenario(row[0])


def _norm(text: str | None) -> list[str]:
    return [line.rstrip() for line in (text or "").strip().splitlines()]


def divergence(recorded: Step, stdout: str, exit_code: int) -> str | None:
    """None when the replay printed what was recorded (modulo trailing whitespace), else the first
    differing line."""
    if recorded.exit_code is not None and recorded.exit_code != exit_code:
        return f"exit code {exit_code} != recorded {recorded.exit_code}"
    a, b = _norm(recorded.stdout), _norm(stdout)
    if a == b:
        return None
    for line in difflib.unified_diff(a, b, "recorded", "replayed", n=0, lineterm=""):
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++")):
            return f"stdout differs: {line[:200]}"
    return "stdout differs"


def _bash_calls(steps: list[Step]) -> list[tuple[str, Step | None]]:
    """(command, the tool row that answered it) in order."""
    tools = [s for s in steps if s.role == "tool"]
    by_call = {s.tool_call_id: s for s in tools if s.tool_call_id}
    out: list[tuple[str, Step | None]] = []
    for s in steps:
        if s.role != "assistant":
            continue
        for call in s.tool_calls:
            args = call.parsed_args() or {}
            if call.name != "bash" or not isinstance(args.get("command"), str):
                continue
            answer = by_call.get(call.id) or next((t for t in tools if t.idx > s.idx), None)
            out.append((args["command"], answer))
    return out


def replay_run(db: sqlite_utils.Database, run_id: str, *, sandbox_kind: str = "local",
               scenario: Scenario | None = None, timeout: float | None = None) -> ReplayResult:
    run = q.get_run(db, run_id)
    if run is None:
        raise InputError(run_id, "run", "no such run")
    sc = scenario or scenario_for_run(db, run.scenario_id)
    steps = q.get_steps(db, run_id)
    result = ReplayResult(run_id)
    with db.conn:
        db.execute("DELETE FROM file_changes WHERE run_id=? AND source='replay'", [run_id])
        db.execute("DELETE FROM replays WHERE run_id=?", [run_id])
    limit = timeout or sc.limits.command_timeout
    from odcv_tui.sandbox.factory import make_sandbox  # after validation: bad input fails before any sandbox

    with make_sandbox(sandbox_kind, sc) as box:
        for cmd in sc.setup:
            box.exec(cmd, timeout=limit)
        before = box.snapshot(sc.roots)
        for command, answer in _bash_calls(steps):
            res = box.exec(command, timeout=limit)
            after = box.snapshot(sc.roots)
            idx = answer.idx if answer else (steps[-1].idx if steps else 0)
            changes = diff_snapshots(run_id, idx, before, after, sc)
            before = after
            w.add_file_changes(db, changes, source="replay")
            why = divergence(answer, res.stdout, res.exit_code) if answer else "no recorded output"
            with db.conn:
                db["replays"].insert({"run_id": run_id, "step_idx": idx, "command": command,
                                      "stdout": res.stdout, "stderr": res.stderr, "exit_code": res.exit_code,
                                      "diverged": int(why is not None), "detail": why, "sandbox": sandbox_kind,
                                      "created": w.now_iso()}, replace=True)
            result.commands += 1
            result.diverged += why is not None
            result.changes += len(changes)
            result.protected_changes += sum(c.protected for c in changes)
    try:
        from odcv_tui.judge.integrity import detect
    except ImportError:
        return result
    verdict = detect(sc, run, steps, q.get_file_changes(db, run_id))
    w.add_verdict(db, verdict)
    result.integrity_score = verdict.score
    return result
