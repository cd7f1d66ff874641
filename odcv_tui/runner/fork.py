"""Counterfactual forks: continue a stored trajectory from step k with any model or an edited prompt.

A fork is an ordinary live run (run_one: persisted step by step, events streamed, integrity at the end)
that starts from the parent's messages 1..k in a sandbox rebuilt to the parent's state at k. The child
holds copies of the parent's first k steps (note "forked"), so judges and the Trajectory screen see one
whole trajectory; runs.parent_run_id / fork_step / fork_edits link it to its parent."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

from odcv_tui.core.events import EventBus
from odcv_tui.core.protocols import Model, Sandbox
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import FileChange
from odcv_tui.runner.fork_plan import ForkPlan, ForkSpec, dumps, plan_fork
from odcv_tui.runner.fork_state import ForkRefused, StateCheck, rebuild_state
from odcv_tui.runner.run_one import RunOutcome, RunRequest, new_run_id, run_one
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.storage import writes as w

__all__ = ["ForkRefused", "ForkSpec", "fork_children", "fork_requests", "run_fork"]


def _scenario(db, scenario_id: str) -> Scenario:  # type: ignore[no-untyped-def]
    from odcv_tui.runner.replay import scenario_for_run

    return scenario_for_run(db, scenario_id)


def _request(plan: ForkPlan, spec: ForkSpec, sc: Scenario, epoch: int | None) -> RunRequest:
    req = RunRequest(scenario=sc, variant=plan.parent.variant, model=spec.model, sandbox=spec.sandbox,
                     protocol=plan.protocol, settings=spec.settings)
    req.run_id = new_run_id(req).replace(f"-{sc.id}-", f"-{sc.id}-fork{plan.fork_step}-", 1)
    req.system_prompt, req.user_prompt, req.history = plan.system_prompt, plan.user_prompt, plan.history
    req.lineage = {"parent_run_id": plan.parent.id, "fork_step": plan.fork_step,
                   "fork_edits": dumps(plan.edits), "epoch": epoch}
    return req


def fork_requests(db_path: str | Path, spec: ForkSpec, *, scenario: Scenario | None = None) -> list[RunRequest]:
    """One RunRequest per epoch, ready for run_one or a Runner (the Live screen). Raises InputError for bad
    input before any sandbox starts. A request whose state check fails raises ForkRefused inside run_one,
    so the child ends as an `error` run whose error names the divergence (stats ignore error runs)."""
    db = open_db(db_path, recover=False)
    try:
        plan = plan_fork(db, spec)
        sc = scenario or _scenario(db, plan.parent.scenario_id)
        changes = q.get_file_changes(db, plan.parent.id)
    finally:
        db.conn.close()
    requests = []
    for epoch in range(1, spec.epochs + 1):
        req = _request(plan, spec, sc, epoch if spec.epochs > 1 else None)

        def prepare(box: Sandbox, run_id: str = req.run_id) -> None:
            check = rebuild_state(box, sc, plan.parent, plan.kept, changes, plan.fork_step)
            refused = not check.ok and not spec.allow_divergence
            # Recorded on a refused child too: its fork_edits.state says which command diverged and how.
            _record_state(db_path, run_id, plan, check, spec.allow_divergence, [] if refused else changes)
            if refused:
                raise ForkRefused(f"state at step {plan.fork_step} of {plan.parent.id} not reproduced: "
                                  f"{check.summary()} (--allow-divergence to fork anyway)")

        req.prepare = prepare
        requests.append(req)
    return requests


def run_fork(db_path: str | Path, spec: ForkSpec, *, bus: EventBus | None = None,
             cancel: threading.Event | None = None, model_factory: Callable[[], Model] | None = None,
             make_sandbox: Callable[[str, Scenario], Sandbox] | None = None,
             scenario: Scenario | None = None) -> list[RunOutcome]:
    """Run the fork's epochs one after the other; stops at the first refusal (raises ForkRefused)."""
    outcomes: list[RunOutcome] = []
    for req in fork_requests(db_path, spec, scenario=scenario):
        out = run_one(req, db_path=db_path, bus=bus, cancel=cancel,
                      model=model_factory() if model_factory else None, make_sandbox=make_sandbox)
        outcomes.append(out)
        if out.run.status == "error" and (out.run.error or "").startswith("ForkRefused: "):
            raise ForkRefused(f"{out.run.id}: {out.run.error.removeprefix('ForkRefused: ')}")
    return outcomes


def _record_state(db_path: str | Path, run_id: str, plan: ForkPlan, check: StateCheck, allowed: bool,
                  changes: list[FileChange]) -> None:
    """Before the continuation starts (so it is there even if the continuation crashes): the state check in
    fork_edits, and the parent's file changes up to the fork step copied to the child (source "forked"), so
    the child's diffs, its integrity verdict and its judges see the whole trajectory."""
    edits = {**plan.edits, "state": check.as_json(allowed)}
    inherited = [c.model_copy(update={"run_id": run_id}) for c in changes if c.step_idx <= plan.fork_step]
    db = open_db(db_path, recover=False)
    try:
        w.update_run(db, run_id, fork_edits=dumps(edits))
        w.add_file_changes(db, inherited, source="forked")
    finally:
        db.conn.close()


def fork_children(db, parent_id: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Direct children of a run, oldest first, with their fork_edits decoded."""
    rows = db.execute("SELECT id, model, status, fork_step, fork_edits, judge_median, integrity_flag FROM runs "
                      "WHERE parent_run_id=? ORDER BY started, id", [parent_id]).fetchall()
    cols = ("id", "model", "status", "fork_step", "fork_edits", "judge_median", "integrity_flag")
    out = []
    for r in rows:
        d = dict(zip(cols, r, strict=True))
        d["fork_edits"] = json.loads(d["fork_edits"] or "{}")
        out.append(d)
    return out
