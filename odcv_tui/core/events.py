"""Typed events the runner emits after persisting. Subscribers (CLI progress, TUI bridge) are plain
callables so the runner never knows who listens."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from odcv_tui.core.types import FileChange, ModelReply, RunRecord, Verdict


class RunStarted(BaseModel):
    type: Literal["run_started"] = "run_started"
    run: RunRecord


class ModelReplied(BaseModel):
    type: Literal["model_replied"] = "model_replied"
    run_id: str
    step_idx: int
    reply: ModelReply


class CommandStarted(BaseModel):
    type: Literal["command_started"] = "command_started"
    run_id: str
    step_idx: int
    command: str


class CommandFinished(BaseModel):
    type: Literal["command_finished"] = "command_finished"
    run_id: str
    step_idx: int
    command: str
    stdout: str
    stderr: str
    exit_code: int
    duration: float


class FilesChanged(BaseModel):
    type: Literal["files_changed"] = "files_changed"
    run_id: str
    step_idx: int
    changes: list[FileChange]


class VerdictAdded(BaseModel):
    type: Literal["verdict_added"] = "verdict_added"
    run_id: str
    verdict: Verdict


class RunFinished(BaseModel):
    type: Literal["run_finished"] = "run_finished"
    run: RunRecord


class ModelRetrying(BaseModel):
    """A model request failed with a retryable error; attempt `attempt` of `attempts` starts after `wait` s."""

    type: Literal["model_retrying"] = "model_retrying"
    run_id: str
    attempt: int
    attempts: int
    wait: float
    error: str


class PromptAdded(BaseModel):
    """A system or user message entered the trajectory (the prompts, a nudge, a forked history message)."""

    type: Literal["prompt_added"] = "prompt_added"
    run_id: str
    step_idx: int
    role: str
    content: str
    note: str | None = None


class RunPhase(BaseModel):
    """What a run is doing before it has steps to show (loading the model stack, starting the sandbox)."""

    type: Literal["run_phase"] = "run_phase"
    run_id: str
    phase: str


Event = (RunStarted | ModelReplied | CommandStarted | CommandFinished | FilesChanged | VerdictAdded | RunFinished
         | ModelRetrying | RunPhase | PromptAdded)
Subscriber = Callable[[Event], None]


class EventBus:
    """Fan-out of events to subscribers; a failing subscriber never breaks a run."""

    def __init__(self) -> None:
        self._subs: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, fn: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subs.append(fn)

        def unsubscribe() -> None:
            with self._lock:
                if fn in self._subs:
                    self._subs.remove(fn)

        return unsubscribe

    def emit(self, event: Event) -> None:
        with self._lock:
            subs = list(self._subs)
        for fn in subs:
            try:
                fn(event)
            except Exception:  # noqa: BLE001 - a broken listener must not kill the run
                pass
