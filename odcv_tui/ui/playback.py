"""Playback of a stored run: the same events a live run emits, read from runs.db and released at an
adjustable pace (pause, single step, faster/slower). Headless on purpose (no textual import) so the
CLI or tests can drive it and the Live screen can feed its output into the very pane a live run uses.

A *tick* is what one key press of "step" releases: the run header, one stored message (an assistant
reply, or a command with its output and file changes), or the closing verdicts + finish.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from odcv_tui.core.errors import InputError
from odcv_tui.core.events import (
    CommandFinished,
    CommandStarted,
    Event,
    FilesChanged,
    ModelReplied,
    RunFinished,
    RunStarted,
    VerdictAdded,
)
from odcv_tui.core.types import FileChange, ModelReply, RunRecord, Step, Verdict

# Tool answers the live loop gives without running anything: no command events live, none in playback.
_NO_COMMAND = ("task_complete", "unknown_tool", "malformed_args")
SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
DEFAULT_INTERVAL = 1.0  # seconds between ticks at speed 1x: slow enough to read a command


@dataclass
class Tick:
    label: str
    events: list[Event] = field(default_factory=list)


def build_ticks(run: RunRecord, steps: list[Step], changes: list[FileChange],
                verdicts: list[Verdict]) -> list[Tick]:
    """Turn a stored run into the event sequence a live run would have produced.

    System/user rows have no live event (the live pane never shows prompts), so they are skipped.
    Tool rows without a command (malformed calls) still become a CommandFinished so their error shows.
    """
    by_step: dict[int, list[FileChange]] = {}
    for ch in changes:
        by_step.setdefault(ch.step_idx, []).append(ch)
    # The header shows the run as it looked when it started, so the pane reads "running" until the end.
    started = run.model_copy(update={"status": "running", "ended": None, "error": None})
    ticks = [Tick("start", [RunStarted(run=started)])]
    for s in steps:
        if s.role == "assistant":
            reply = ModelReply(content=s.content, reasoning=s.reasoning, tool_calls=s.tool_calls,
                               tokens_in=s.tokens_in, tokens_out=s.tokens_out, cost=s.cost)
            ticks.append(Tick(f"step {s.idx}", [ModelReplied(run_id=run.id, step_idx=s.idx, reply=reply)]))
        elif s.role == "tool" and not (s.command is None and s.note in _NO_COMMAND):
            cmd = s.command or ""
            evs: list[Event] = []
            if cmd:
                evs.append(CommandStarted(run_id=run.id, step_idx=s.idx, command=cmd))
            evs.append(CommandFinished(run_id=run.id, step_idx=s.idx, command=cmd, stdout=s.stdout or "",
                                       stderr=s.stderr or "", exit_code=s.exit_code or 0,
                                       duration=s.duration or 0.0))
            if s.idx in by_step:
                evs.append(FilesChanged(run_id=run.id, step_idx=s.idx, changes=by_step.pop(s.idx)))
            ticks.append(Tick(f"step {s.idx}", evs))
    end: list[Event] = []
    # Changes recorded against rows we did not play (e.g. replays attached to other indices) still show.
    for idx in sorted(by_step):
        end.append(FilesChanged(run_id=run.id, step_idx=idx, changes=by_step[idx]))
    end.extend(VerdictAdded(run_id=run.id, verdict=v) for v in verdicts)
    end.append(RunFinished(run=run))
    ticks.append(Tick("finish", end))
    return ticks


def load_ticks(db_path: str | Path, run_id: str) -> list[Tick]:
    """Read one run from runs.db (opens its own connection: call this off the UI thread)."""
    from odcv_tui.storage import open_db
    from odcv_tui.storage import queries as q

    # recover=False: a live run of this process may be `running` in the same DB.
    db = open_db(db_path, recover=False)
    try:
        run = q.get_run(db, run_id)
        if run is None:
            raise InputError(str(db_path), "run_id", f"no stored run {run_id!r}")
        return build_ticks(run, q.get_steps(db, run_id), q.get_file_changes(db, run_id),
                           q.get_verdicts(db, run_id))
    finally:
        db.conn.close()


class Player:
    """Releases the ticks of one stored run through `emit` on the thread that calls `run()`.

    Controls (pause/resume/step/faster/slower/stop) may be called from any thread. `emit` is always
    called *without* the internal lock held: a UI bridge may block in it waiting for the UI thread,
    and that UI thread may at the same moment be pressing pause.
    """

    def __init__(self, db_path: str | Path, run_id: str, emit: Callable[[Event], None], *,
                 speed: float = 1.0, paused: bool = False, interval: float = DEFAULT_INTERVAL,
                 ticks: list[Tick] | None = None) -> None:
        self.db_path = db_path
        self.run_id = run_id
        self.emit = emit
        self.interval = interval
        self.speed = speed
        self.paused = paused
        self.ticks = ticks
        self.position = 0  # ticks released so far
        self._steps_wanted = 0
        self._stopped = False
        self._cond = threading.Condition()
        self._last = 0.0

    @property
    def total(self) -> int:
        return len(self.ticks) if self.ticks is not None else 0

    @property
    def done(self) -> bool:
        return self.ticks is not None and self.position >= len(self.ticks)

    # controls -----------------------------------------------------------------------------------
    def _change(self, fn: Callable[[], None]) -> None:
        with self._cond:
            fn()
            self._cond.notify_all()

    def pause(self) -> None:
        self._change(lambda: setattr(self, "paused", True))

    def resume(self) -> None:
        def go() -> None:
            self.paused = False
            self._last = time.monotonic() - self.interval / self.speed  # next tick right away
        self._change(go)

    def toggle_pause(self) -> bool:
        (self.resume if self.paused else self.pause)()
        return self.paused

    def step(self) -> None:
        """Release exactly one more tick and stay (or become) paused."""
        def one() -> None:
            self.paused = True
            self._steps_wanted += 1
        self._change(one)

    def faster(self) -> float:
        self._change(lambda: setattr(self, "speed", _next_speed(self.speed, +1)))
        return self.speed

    def slower(self) -> float:
        self._change(lambda: setattr(self, "speed", _next_speed(self.speed, -1)))
        return self.speed

    def stop(self) -> None:
        self._change(lambda: setattr(self, "_stopped", True))

    # the loop -----------------------------------------------------------------------------------
    def run(self) -> None:
        """Blocking: load (if needed) and play to the end or until stop(). Raises InputError for a
        missing run before emitting anything."""
        if self.ticks is None:
            self.ticks = load_ticks(self.db_path, self.run_id)
        if self.ticks and self.position == 0:
            self._release()  # the header always shows at once, even when opened paused
        while True:
            with self._cond:
                tick_now = False
                while not tick_now:
                    if self._stopped or self.done:
                        return
                    if self._steps_wanted:
                        self._steps_wanted -= 1
                        tick_now = True
                    elif self.paused:
                        self._cond.wait()
                    else:
                        wait = self._last + self.interval / self.speed - time.monotonic()
                        if wait <= 0:
                            tick_now = True
                        else:
                            self._cond.wait(wait)
            self._release()

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, name=f"odcv-playback-{self.run_id}", daemon=True)
        t.start()
        return t

    def _release(self) -> None:
        assert self.ticks is not None
        with self._cond:
            if self.position >= len(self.ticks):
                return
            tick = self.ticks[self.position]
            self.position += 1
            self._last = time.monotonic()
        for ev in tick.events:
            self.emit(ev)


def _next_speed(current: float, direction: int) -> float:
    if direction > 0:
        return next((s for s in SPEEDS if s > current), SPEEDS[-1])
    return next((s for s in reversed(SPEEDS) if s < current), SPEEDS[0])
