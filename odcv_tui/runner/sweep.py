"""A sweep: every cell of a SweepSpec run once, on a thread pool here or on a Ray cluster, with resume,
a cost budget, judging as runs finish, and a live summary kept in the `sweeps` table.

Budget rule (`max_cost`, USD): before each launch, spent (finished runs, what running runs have spent so
far, and judge calls) plus the in-flight estimate (for each running run, the mean final cost of this
sweep's finished runs of that model, less what it has already spent) must be below the budget; once it is
not, nothing more is launched and the runs in flight FINISH (they are not cancelled: a cancelled run is
money spent on an `interrupted` run that counts for nothing). So a sweep can end above the budget by at
most its in-flight runs' overrun; the first wave is launched before any cost is known."""

from __future__ import annotations

import json
import statistics
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from odcv_tui.core.errors import InputError, OdcvError
from odcv_tui.core.events import EventBus
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import RunRecord
from odcv_tui.llm.settings import ModelOptions
from odcv_tui.runner.run_one import RunRequest, new_run_id
from odcv_tui.runner.sweep_exec import Executor, ThreadExecutor
from odcv_tui.runner.sweep_spec import Cell, SweepSpec, cells, new_sweep_id, select_scenarios
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w

DONE = ("completed", "step_limit")  # a cell with such a run is finished; error/interrupted ones are re-run


@dataclass
class SweepSummary:
    sweep_id: str
    total: int = 0  # cells of the spec
    done: int = 0  # cells finished (any time, this sweep)
    running: int = 0
    queued: int = 0
    failed: int = 0  # runs that ended in error in this invocation
    interrupted: int = 0
    judged: int = 0
    cost: float = 0.0  # USD so far, runs + judges, whole sweep
    eta_s: float | None = None
    status: str = "running"  # running / completed / budget / interrupted / incomplete

    def line(self) -> str:
        eta = "-" if self.eta_s is None else f"{self.eta_s / 60:.1f} min" if self.eta_s >= 60 else f"{self.eta_s:.0f} s"
        return (f"sweep {self.sweep_id} [{self.status}]: {self.done}/{self.total} done, {self.running} running, "
                f"{self.queued} queued, {self.failed} failed, {self.interrupted} interrupted, "
                f"${self.cost:.4f} so far, ETA {eta}")


class Sweep:
    def __init__(self, db_path: str | Path, spec: SweepSpec, *, sweep_id: str | None = None,
                 bus: EventBus | None = None, executor: Executor | None = None,
                 todo: list[Cell] | None = None, scenarios: list[Scenario] | None = None) -> None:
        self.db_path, self.spec = db_path, spec
        self.sweep_id = sweep_id or new_sweep_id()
        self.bus = bus or EventBus()
        self._executor = executor
        self.scenarios = {s.id: s for s in (scenarios or select_scenarios(spec.scenarios, spec.scenarios_root))}
        self.all_cells = todo if todo is not None else cells(spec, list(self.scenarios.values()))
        self._explicit = todo is not None
        self.judges = _judge_specs(spec.judges, ModelOptions.from_dict(spec.model_options).per_model_only())
        self.db = open_db(db_path, recover=False)
        self.summary = SweepSummary(self.sweep_id, total=len(self.all_cells))
        self.finished_runs: list[RunRecord] = []

    @classmethod
    def resume(cls, db_path: str | Path, sweep_id: str, **kw: Any) -> Sweep:
        db = open_db(db_path, recover=False)
        row = db.execute("SELECT spec FROM sweeps WHERE id=?", [sweep_id]).fetchone()
        db.conn.close()
        if row is None:
            raise InputError("--resume", sweep_id, "no such sweep in the database")
        return cls(db_path, SweepSpec.from_json(row[0], f"sweeps[{sweep_id}].spec"), sweep_id=sweep_id, **kw)

    # -- planning -------------------------------------------------------------------------------------
    def done_cells(self) -> set[Cell]:
        rows = self.db.execute("SELECT scenario_id, variant, model, epoch FROM runs WHERE sweep_id = ? "
                               "AND status IN (?, ?)", [self.sweep_id, *DONE]).fetchall()
        return {Cell(r[0], r[1], r[2], r[3] or 1) for r in rows}

    def plan(self) -> list[Cell]:
        """Cells still to run: all of them minus those with a completed (or step-limit) run in this sweep."""
        done = self.done_cells()
        return [c for c in self.all_cells if Cell(c.scenario_id, c.variant, c.model, c.epoch) not in done
                or c.sweep_id not in (None, self.sweep_id)]

    def _request(self, c: Cell) -> RunRequest:
        sc = self.scenarios.get(c.scenario_id)
        if sc is None:
            raise InputError("--scenario", c.scenario_id, "scenario of this sweep not found in the library")
        req = RunRequest(scenario=sc, variant=c.variant, model=c.model, sandbox=self.spec.sandbox,  # type: ignore[arg-type]
                         max_model_calls=self.spec.max_steps, command_timeout=self.spec.command_timeout,
                         # A retried run keeps its own sweep (None for runs made before sweeps existed).
                         lineage={"sweep_id": c.sweep_id if self._explicit else self.sweep_id, "epoch": c.epoch},
                         protocol=self.spec.protocol,
                         settings=ModelOptions.from_dict(self.spec.model_options).for_model(c.model))
        req.run_id = new_run_id(req)
        return req

    def executor(self) -> Executor:
        if self._executor is None:
            if self.spec.executor == "ray":
                from odcv_tui.runner.ray_exec import RayExecutor

                self._executor = RayExecutor(self.db_path, self.bus, address=self.spec.ray_address)
            else:
                self._executor = ThreadExecutor(self.db_path, self.bus, concurrency=self.spec.concurrency)
        return self._executor

    # -- running --------------------------------------------------------------------------------------
    def run(self, on_summary: Callable[[SweepSummary], None] | None = None,
            on_run: Callable[[RunRecord], None] | None = None) -> SweepSummary:
        todo = deque(self.plan())
        s = self.summary
        s.done = s.total - len(todo) if not self._explicit else 0
        ex = self.executor()  # first: a missing Ray or an unreachable cluster leaves no `running` sweep behind
        self._store("running")
        judge_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="odcv-sweep-judge") if self.judges else None
        judging: list[Future[Any]] = []
        t0, finished_here, last = time.monotonic(), 0, 0.0
        budget_hit = False
        try:
            while todo or ex.running():
                while todo and ex.running() < ex.capacity() and not budget_hit:
                    if self.spec.max_cost is not None and self._committed() >= self.spec.max_cost:
                        budget_hit = True
                        break
                    ex.submit(self._request(todo.popleft()))
                for run in ex.poll(0.2):
                    finished_here += 1
                    self.finished_runs.append(run)
                    s.done += run.status in DONE
                    s.failed += run.status == "error"
                    s.interrupted += run.status not in (*DONE, "error")
                    if judge_pool is not None and run.status in DONE:
                        judging.append(judge_pool.submit(self._judge, run.id))
                    if on_run is not None:
                        on_run(run)
                if budget_hit and not ex.running():
                    break
                if time.monotonic() - last >= 1.0 or not (todo or ex.running()):
                    last = time.monotonic()
                    s.running, s.queued = ex.running(), len(todo)
                    rate = finished_here / max(1e-9, last - t0)
                    s.eta_s = (s.queued + s.running) / rate if finished_here else None
                    s.cost = self._costs()[0]
                    self._store("running")
                    if on_summary is not None:
                        on_summary(s)
        except KeyboardInterrupt:
            ex.cancel_all()
            for run in _drain_until_idle(ex, 15.0):
                s.interrupted += run.status not in (*DONE, "error")
            s.queued, s.running = len(todo), ex.running()
            self._finish("interrupted", judge_pool, judging)
            raise
        finally:
            ex.close()
        s.running, s.queued = 0, len(todo)
        status = "budget" if budget_hit else "incomplete" if (s.failed or s.interrupted) else "completed"
        self._finish(status, judge_pool, judging)
        if on_summary is not None:
            on_summary(s)
        return s

    def _finish(self, status: str, pool: ThreadPoolExecutor | None, judging: list[Future[Any]]) -> None:
        if pool is not None:
            for f in judging:
                try:
                    self.summary.judged += int(f.result())
                except Exception:  # noqa: BLE001 - a judge failure is stored as a failed verdict, not a dead sweep
                    pass
            pool.shutdown(wait=True)
        self.summary.cost = self._costs()[0]
        self.summary.eta_s = None
        self._store(status)
        self.db.conn.close()

    def _judge(self, run_id: str) -> int:
        from odcv_tui.judge.panel import judge_runs

        rep = judge_runs(self.db_path, [run_id], self.judges, concurrency=len(self.judges), integrity=False,
                         model_options=ModelOptions.from_dict(self.spec.model_options).per_model_only())
        return int(rep.count("new") + rep.count("cached") > 0)

    # -- money ----------------------------------------------------------------------------------------
    def _costs(self) -> tuple[float, float]:
        """(spent so far, in-flight estimate) for this sweep, from runs.db."""
        rows = self.db.execute(
            "SELECT r.model, r.status, COALESCE(r.cost, 0), (SELECT COALESCE(SUM(s.cost), 0) FROM steps s "
            "WHERE s.run_id = r.id) FROM runs r WHERE r.sweep_id = ?", [self.sweep_id]).fetchall()
        judges = self.db.execute("SELECT COALESCE(SUM(v.cost), 0) FROM verdicts v JOIN runs r ON r.id = v.run_id "
                                 "WHERE r.sweep_id = ? AND v.kind IN ('llm', 'self')", [self.sweep_id]).fetchone()[0]
        finals: dict[str, list[float]] = {}
        spent, running = float(judges), []
        for model, status, cost, partial in rows:
            if status == "running":
                spent += partial
                running.append((model, partial))
            else:
                spent += max(cost, partial)
                finals.setdefault(model, []).append(max(cost, partial))
        every = [c for v in finals.values() for c in v]
        inflight = 0.0
        for model, partial in running:
            est = statistics.fmean(finals[model]) if finals.get(model) else (statistics.fmean(every) if every else 0.0)
            inflight += max(0.0, est - partial)
        return spent, inflight

    def _committed(self) -> float:
        spent, inflight = self._costs()
        return spent + inflight

    def _store(self, status: str) -> None:
        self.summary.status = status
        now = w.now_iso()
        with self.db.conn:
            if self.db.execute("SELECT 1 FROM sweeps WHERE id=?", [self.sweep_id]).fetchone() is None:
                self.db["sweeps"].insert({"id": self.sweep_id, "spec": self.spec.to_json(), "status": status,
                                          "created": now, "updated": now, "summary": json.dumps(asdict(self.summary))})
            else:
                self.db["sweeps"].update(self.sweep_id, {"status": status, "updated": now,
                                                         "summary": json.dumps(asdict(self.summary))})


def _drain_until_idle(ex: Executor, seconds: float) -> list[RunRecord]:
    out: list[RunRecord] = []
    deadline = time.monotonic() + seconds
    while ex.running() and time.monotonic() < deadline:
        out += ex.poll(0.2)
    return out


def _judge_specs(names: list[str], options: ModelOptions | None = None) -> list[Any]:
    if not names:
        return []
    from odcv_tui.judge.panel import missing_keys, parse_judge

    specs = [parse_judge(n) for n in names]
    bad = missing_keys(specs, options)
    if bad:
        model, why = next(iter(bad.items()))
        raise OdcvError(f"--judge: cannot call {model}: {why} (checked before any run started)")
    return specs


def retry_error_cells(db_path: str | Path) -> list[Cell]:
    """Live runs that ended in `error` and whose cell (sweep, scenario, variant, model, epoch) has no
    completed run since: what the authors' retry_missing.py would re-run."""
    db = open_db(db_path, recover=False)
    rows = db.execute(
        "SELECT DISTINCT e.scenario_id, e.variant, e.model, COALESCE(e.epoch, 1), e.sweep_id FROM runs e "
        "WHERE e.status = 'error' AND e.source = 'live' AND NOT EXISTS (SELECT 1 FROM runs o WHERE "
        "o.status IN (?, ?) AND o.scenario_id = e.scenario_id AND o.variant = e.variant AND o.model = e.model "
        "AND COALESCE(o.epoch, 1) = COALESCE(e.epoch, 1) AND o.sweep_id IS e.sweep_id) ORDER BY 5, 1, 2, 3, 4",
        list(DONE)).fetchall()
    db.conn.close()
    return [Cell(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def active_sweep_lines(db_path: str | Path, max_age_s: float = 30.0, limit: int = 3) -> list[str]:
    """Summary lines of sweeps running now (in any process: CLI, a cluster driver), for the Live screen.
    Read-only and lock-free; a sweep whose summary went stale (its driver died) is left out."""
    import sqlite3
    from datetime import UTC, datetime

    if not Path(db_path).exists():
        return []
    try:
        con = sqlite3.connect(f"file:{Path(db_path).resolve()}?mode=ro", uri=True, timeout=0.5)
        try:
            rows = con.execute("SELECT summary, updated FROM sweeps WHERE status = 'running' ORDER BY updated DESC "
                               "LIMIT ?", [limit]).fetchall()
        finally:
            con.close()
    except sqlite3.Error:
        return []
    out, now = [], datetime.now(UTC)
    for summary, updated in rows:
        try:
            when = datetime.fromisoformat(updated)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            if (now - when).total_seconds() <= max_age_s:
                out.append(SweepSummary(**json.loads(summary)).line())
        except (TypeError, ValueError):
            continue
    return out


def retry_requests(db_path: str | Path, sandbox: str = "local") -> list[RunRequest]:
    """RunRequests for `retry_error_cells` (the Runs screen's retry key): same scenario, variant, model,
    epoch and sweep as the failed run; the scenario is read from the library by id."""
    todo = retry_error_cells(db_path)
    if not todo:
        return []
    scenarios = {s.id: s for s in select_scenarios(sorted({c.scenario_id for c in todo}))}
    out = []
    for c in todo:
        req = RunRequest(scenario=scenarios[c.scenario_id], variant=c.variant, model=c.model,  # type: ignore[arg-type]
                         sandbox=sandbox, lineage={"sweep_id": c.sweep_id, "epoch": c.epoch})
        req.run_id = new_run_id(req)
        out.append(req)
    return out
