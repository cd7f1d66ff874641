"""Re-execute a stored trajectory's bash commands in our sandbox (upstream logs carry no file changes):
attach per-step file changes to the stored run, record where the replayed output diverges from what was
recorded and why (runner/replay_classify.py), then run the integrity detector on it.

Commands run as the authors' orchestrator ran them: `/bin/sh -c` (dash on Debian), a fresh shell per command
in the scenario's workdir, 30 s timeout reported as stdout "", stderr "Command timed out", exit code -1."""

from __future__ import annotations

import inspect
import shlex
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from odcv_tui.core.errors import InputError
from odcv_tui.core.protocols import Sandbox
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import ExecResult, Step
from odcv_tui.runner.replay_classify import classify, describe, propagate, scripts_using_clock
from odcv_tui.sandbox.filediff import ChangeRecorder
from odcv_tui.scenarios.loader import load_scenario
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.storage import writes as w

UPSTREAM_TIMEOUT = 30.0  # task_executor_api.py: subprocess.run(..., timeout=30)


@dataclass
class ReplayResult:
    run_id: str
    commands: int = 0
    diverged: int = 0
    changes: int = 0
    protected_changes: int = 0
    integrity_score: float | None = None
    classes: Counter[str] = field(default_factory=Counter)
    error: str | None = None


def scenario_for_run(db: sqlite_utils.Database, scenario_id: str) -> Scenario:
    row = db.execute("SELECT path FROM scenarios WHERE id=?", [scenario_id]).fetchone()
    if not row or not row[0] or not (Path(row[0]) / "scenario.yaml").exists():
        raise InputError(scenario_id, "scenario", "not imported: run `odcv scenarios import-upstream DIR` first")
    return load_scenario(row[0])


def divergence(recorded: Step, stdout: str, exit_code: int, stderr: str | None = None) -> str | None:
    """None when the replay printed what was recorded (modulo trailing whitespace), else the first
    difference; stderr is compared only when given."""
    return describe(recorded.stdout, recorded.stderr if stderr is not None else None, recorded.exit_code,
                    stdout, stderr or "", exit_code)


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


def _takes_shell(box: Sandbox) -> bool:
    try:
        return "shell" in inspect.signature(box.exec).parameters
    except (TypeError, ValueError):
        return False


def run_like_upstream(box: Sandbox, command: str, timeout: float, with_shell: bool) -> ExecResult:
    """One command as the authors' orchestrator ran it: /bin/sh -c, their timeout result on expiry."""
    if with_shell:
        res = box.exec(command, timeout=timeout, shell="sh")  # type: ignore[call-arg]
    else:  # sandboxes that always start bash: hand the command to /bin/sh (dash) ourselves
        res = box.exec("exec /bin/sh -c " + shlex.quote(command), timeout=timeout)
    if res.timed_out:
        return ExecResult(stdout="", stderr="Command timed out", exit_code=-1, duration=res.duration,
                          timed_out=True)
    return res


def _scenario_files(sc: Scenario) -> list[tuple[str, bytes]]:
    if not sc.base_dir:
        return []
    base = Path(sc.base_dir) / "files"
    return [(m.dest, (base / m.src).read_bytes()) for m in sc.files if (base / m.src).is_file()]


def static_text(sc: Scenario, files: list[tuple[str, bytes]]) -> str:
    """What the scenario itself says (prompts, file names and contents): dates in it are not the session's."""
    parts = [sc.system_prompt, sc.user_prompts.mandated, sc.user_prompts.incentivized]
    parts += [f"{dest}\n{data.decode('utf-8', 'replace')}" for dest, data in files]
    return "\n".join(parts)


def replay_run(db: sqlite_utils.Database, run_id: str, *, sandbox_kind: str = "local",
               scenario: Scenario | None = None, timeout: float | None = None) -> ReplayResult:
    run = q.get_run(db, run_id)
    if run is None:
        raise InputError(run_id, "run", "no such run")
    sc = scenario or scenario_for_run(db, run.scenario_id)
    steps = q.get_steps(db, run_id)
    result = ReplayResult(run_id)
    limit = timeout or (UPSTREAM_TIMEOUT if sc.source.startswith("upstream:") else sc.limits.command_timeout)
    files = _scenario_files(sc)
    clock_scripts = scripts_using_clock(files)
    static = static_text(sc, files)
    from odcv_tui.sandbox.factory import make_sandbox  # after validation: bad input fails before any sandbox

    rows: list[dict[str, object]] = []
    all_changes = []
    with make_sandbox(sandbox_kind, sc) as box:
        with_shell = _takes_shell(box)
        for cmd in sc.setup:
            box.exec(cmd, timeout=limit)
        recorder = ChangeRecorder(box, sc)
        earlier: str | None = None
        for command, answer in _bash_calls(steps):
            res = run_like_upstream(box, command, limit, with_shell)
            idx = answer.idx if answer else (steps[-1].idx if steps else 0)
            changes = recorder.step(run_id, idx)
            all_changes += changes
            if answer is None:
                div_cls, why, detail = "other", "no-recorded-output", "no recorded output"
            else:
                d = classify(command, (answer.stdout, answer.stderr, answer.exit_code),
                             (res.stdout, res.stderr, res.exit_code), earlier=earlier, clock_scripts=clock_scripts,
                             static_text=static)
                earlier = propagate(earlier, d)
                div_cls, why, detail = (d.cls, d.why, d.detail) if d else (None, None, None)
            rows.append({"run_id": run_id, "step_idx": idx, "command": command, "stdout": res.stdout,
                         "stderr": res.stderr, "exit_code": res.exit_code, "diverged": int(div_cls is not None),
                         "detail": f"{why}: {detail}" if why else None, "sandbox": sandbox_kind,
                         "divergence_class": div_cls, "created": w.now_iso()})
            result.commands += 1
            result.diverged += div_cls is not None
            if div_cls:
                result.classes[div_cls] += 1
            result.changes += len(changes)
            result.protected_changes += sum(c.protected for c in changes)
    # One transaction per run: a replay interrupted half-way leaves the previous one intact.
    with db.conn:
        db.execute("DELETE FROM file_changes WHERE run_id=? AND source='replay'", [run_id])
        db.execute("DELETE FROM replays WHERE run_id=?", [run_id])
        db["replays"].insert_all(rows, replace=True)
        if all_changes:
            db["file_changes"].insert_all(
                [{**c.model_dump(), "binary": int(c.binary), "protected": int(c.protected), "source": "replay"}
                 for c in all_changes])
    from odcv_tui.judge.integrity import detect

    verdict = detect(sc, run, steps, q.get_file_changes(db, run_id))
    w.add_verdict(db, verdict)
    result.integrity_score = verdict.score
    return result


def replayable_runs(db: sqlite_utils.Database) -> tuple[list[str], list[str]]:
    """(runs whose scenario was imported with files, runs whose scenario was not)."""
    rows = db.execute("SELECT r.id, s.path FROM runs r LEFT JOIN scenarios s ON s.id = r.scenario_id "
                      "WHERE r.status != 'running' ORDER BY r.id").fetchall()
    ok = [rid for rid, path in rows if path and (Path(path) / "scenario.yaml").exists()]
    return ok, [rid for rid, path in rows if not (path and (Path(path) / "scenario.yaml").exists())]


def replay_many(db_path: str | Path, run_ids: list[str], *, sandbox_kind: str = "local", concurrency: int = 2,
                on_done: Callable[[ReplayResult], None] | None = None) -> list[ReplayResult]:
    """Replay runs `concurrency` at a time (threads: the work is waiting on sandboxes; each thread has its own
    SQLite connection). A run that fails is reported with its error and does not stop the others."""
    local = threading.local()
    scenarios: dict[str, Scenario] = {}
    lock = threading.Lock()

    def one(run_id: str) -> ReplayResult:
        if not hasattr(local, "db"):
            local.db = open_db(db_path)
        try:
            run = q.get_run(local.db, run_id)
            if run is None:
                raise InputError(run_id, "run", "no such run")
            with lock:
                sc = scenarios.get(run.scenario_id)
            if sc is None:
                sc = scenario_for_run(local.db, run.scenario_id)
                with lock:
                    scenarios[run.scenario_id] = sc
            res = replay_run(local.db, run_id, sandbox_kind=sandbox_kind, scenario=sc)
        except Exception as exc:  # noqa: BLE001 - one broken run must not end a 950-run replay
            res = ReplayResult(run_id, error=f"{type(exc).__name__}: {exc}")
        if on_done:
            on_done(res)
        return res

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as ex:
        return list(ex.map(one, run_ids))
