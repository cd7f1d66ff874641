"""One run: persist first, then emit. Every step is in runs.db before anyone hears about it."""

from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from odcv_tui.agent.loop import AgentLoop, LoopConfig
from odcv_tui.core.events import (
    CommandFinished,
    CommandStarted,
    EventBus,
    FilesChanged,
    ModelReplied,
    ModelRetrying,
    PromptAdded,
    RunFinished,
    RunPhase,
    RunStarted,
    VerdictAdded,
)
from odcv_tui.core.protocols import Model, Sandbox
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import ExecResult, ModelReply, RunRecord, Step, Variant, trajectory_hash
from odcv_tui.sandbox.filediff import ChangeRecorder
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.storage import writes as w


@dataclass
class RunRequest:
    scenario: Scenario
    variant: Variant
    model: str
    sandbox: str = "local"
    run_id: str = ""
    max_model_calls: int | None = None
    command_timeout: float | None = None
    # Forks (runner/fork.py): prompts and the message history to continue from, a hook that rebuilds the
    # parent's sandbox state after setup, and the lineage columns (parent_run_id, fork_step, ...) of the run.
    system_prompt: str | None = None
    user_prompt: str | None = None
    history: list[dict[str, Any]] | None = None
    prepare: Callable[[Sandbox], None] | None = None
    lineage: dict[str, Any] = field(default_factory=dict)
    # Protocol profile (agent/protocols.py; None = the default, upstream) and the model's connection
    # settings (llm/settings.ModelSettings: endpoint, key variable, temperature, timeout, retries, args).
    protocol: str | None = None
    settings: Any = None


@dataclass
class RunOutcome:
    run: RunRecord
    kpi: ExecResult | None = None  # result of the scenario's kpi_check, when asked for
    extra: dict[str, object] = field(default_factory=dict)


def new_run_id(req: RunRequest) -> str:
    model = re.sub(r"[^A-Za-z0-9.]+", "-", req.model).strip("-")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{req.scenario.id}-{req.variant[:3]}-{model}-{secrets.token_hex(3)}"


class _Hooks:
    """Persist then emit; record the file changes of each command (anywhere the sandbox can see them)."""

    def __init__(self, db, bus: EventBus, run_id: str, sandbox: Sandbox, scenario: Scenario,
                 cancel: threading.Event) -> None:
        self.db, self.bus, self.run_id, self.sandbox, self.scenario = db, bus, run_id, sandbox, scenario
        self.cancel = cancel
        self.recorder = ChangeRecorder(sandbox, scenario)

    def on_step(self, step: Step) -> None:
        w.add_step(self.db, step)
        if step.role in ("system", "user"):
            self.bus.emit(PromptAdded(run_id=self.run_id, step_idx=step.idx, role=step.role,
                                      content=step.content or "", note=step.note))
        if step.role == "assistant":
            reply = ModelReply(content=step.content, reasoning=step.reasoning, tool_calls=step.tool_calls,
                               tokens_in=step.tokens_in, tokens_out=step.tokens_out, cost=step.cost)
            self.bus.emit(ModelReplied(run_id=self.run_id, step_idx=step.idx, reply=reply))

    def on_command_started(self, step_idx: int, command: str) -> None:
        self.bus.emit(CommandStarted(run_id=self.run_id, step_idx=step_idx, command=command))

    def on_command_finished(self, step: Step) -> None:
        changes = self.recorder.step(self.run_id, step.idx)
        w.add_file_changes(self.db, changes)
        self.bus.emit(CommandFinished(run_id=self.run_id, step_idx=step.idx, command=step.command or "",
                                      stdout=step.stdout or "", stderr=step.stderr or "",
                                      exit_code=step.exit_code or 0, duration=step.duration or 0.0))
        if changes:
            self.bus.emit(FilesChanged(run_id=self.run_id, step_idx=step.idx, changes=changes))

    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def on_retry(self, attempt: int, attempts: int, wait: float, error: str) -> None:
        self.bus.emit(ModelRetrying(run_id=self.run_id, attempt=attempt, attempts=attempts, wait=wait, error=error))


def run_one(req: RunRequest, *, db_path: str | Path, bus: EventBus | None = None,
            cancel: threading.Event | None = None, model: Model | None = None,
            make_sandbox: Callable[[str, Scenario], Sandbox] | None = None,
            check_kpi: bool = False, integrity: bool = True) -> RunOutcome:
    """Run one scenario variant with one model to the end. Never raises for agent/provider/sandbox
    failures: they become the run's status (`error` with a message); Ctrl-C marks it `interrupted`."""
    from odcv_tui.agent.protocols import get_profile
    from odcv_tui.llm import resolve_model
    from odcv_tui.runner import provenance
    from odcv_tui.sandbox.factory import make_sandbox as default_make

    bus = bus or EventBus()
    cancel = cancel or threading.Event()
    sc = req.scenario
    profile = get_profile(req.protocol)
    db = open_db(db_path, recover=False)
    w.upsert_scenario(db, sc)
    prov = provenance.dumps(provenance.build(profile, sc, req.sandbox, req.model, req.settings))
    run = RunRecord(id=req.run_id or new_run_id(req), scenario_id=sc.id, variant=req.variant, model=req.model,
                    sandbox=req.sandbox, status="running", source="live", started=w.now_iso(),
                    protocol=profile.id, provenance=prov, **req.lineage)
    w.insert_run(db, run, owner_pid=os.getpid())
    bus.emit(RunStarted(run=run))
    cfg = LoopConfig(max_model_calls=req.max_model_calls or sc.limits.max_model_calls,
                     command_timeout=req.command_timeout or sc.limits.command_timeout,
                     output_cap=sc.limits.output_cap, profile=profile,
                     **({"retry": req.settings.retry_policy()} if req.settings is not None else {}))
    status, reason, kpi = "error", "", None
    agent: AgentLoop | None = None
    try:
        if model is None and not req.model.startswith("oracle/"):
            bus.emit(RunPhase(run_id=run.id, phase="loading the model stack (litellm, ~10 s the first time)"))
        mdl = model or resolve_model(req.model, sc, req.variant, settings=req.settings)
        if hasattr(mdl, "request_params"):  # provider models: the profile's request fields and message mode
            mdl.request_params, mdl.verbatim = dict(profile.request), profile.verbatim_messages  # type: ignore[attr-defined]
        bus.emit(RunPhase(run_id=run.id, phase=f"starting the {req.sandbox} sandbox"))
        with (make_sandbox or default_make)(req.sandbox, sc) as sandbox:
            if (with_image := provenance.with_image(prov, sandbox)) is not None:
                w.update_run(db, run.id, provenance=with_image)
            for cmd in sc.setup:
                res = sandbox.exec(cmd, timeout=cfg.command_timeout)
                if res.exit_code != 0:
                    raise RuntimeError(f"setup command failed ({res.exit_code}): {cmd}: {res.stderr[-300:]}")
            if req.prepare is not None:
                req.prepare(sandbox)
            hooks = _Hooks(db, bus, run.id, sandbox, sc, cancel)
            agent = AgentLoop(mdl, sandbox, run.id, hooks, cfg)
            bus.emit(RunPhase(run_id=run.id, phase="waiting for the model"))
            status, reason = agent.run(req.system_prompt or profile.system_message(sc.system_prompt),
                                       req.user_prompt or sc.user_prompts.for_variant(req.variant),
                                       history=req.history)
            if check_kpi and status != "error" and sc.kpi_check is not None:
                kpi = sandbox.exec(sc.kpi_check.command, timeout=cfg.command_timeout)
    except KeyboardInterrupt:
        status, reason = "interrupted", "interrupted (Ctrl-C)"
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the run, never lost
        status, reason = "error", f"{type(exc).__name__}: {exc}"
    finally:
        steps = q.get_steps(db, run.id)
        assistant = [s for s in steps if s.role == "assistant"]
        w.update_run(db, run.id, status=status, ended=w.now_iso(), steps=len(steps),
                     model_calls=agent.model_calls if agent else 0,
                     tokens=sum(s.tokens_in + s.tokens_out for s in assistant),
                     cost=sum(s.cost for s in assistant), trajectory_hash=trajectory_hash(steps),
                     error=reason if status == "error" else None)
        final = q.get_run(db, run.id) or run
    if integrity:
        _integrity(db, bus, sc, final)
    bus.emit(RunFinished(run=final))
    db.conn.close()
    return RunOutcome(run=final, kpi=kpi, extra={"reason": reason})


def _integrity(db, bus: EventBus, sc: Scenario, run: RunRecord) -> None:
    try:
        from odcv_tui.judge.integrity import detect
    except ImportError:  # the judge layer is optional for a bare harness
        return
    verdict = detect(sc, run, q.get_steps(db, run.id), q.get_file_changes(db, run.id))
    w.add_verdict(db, verdict)
    bus.emit(VerdictAdded(run_id=run.id, verdict=verdict))
