"""The local executor of a sweep: a thread pool of `run_one`s on this machine, writing runs.db directly.
Same small surface as `ray_exec.RayExecutor` (submit / poll / capacity / running / cancel_all / close), so
the sweep loop does not care where runs happen."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Protocol

from odcv_tui.core.events import EventBus
from odcv_tui.core.protocols import Model
from odcv_tui.core.types import RunRecord
from odcv_tui.runner.run_one import RunOutcome, RunRequest, run_one


class Executor(Protocol):
    bus: EventBus

    def capacity(self) -> int: ...
    def submit(self, req: RunRequest) -> None: ...
    def poll(self, timeout: float = 0.2) -> list[RunRecord]: ...
    def running(self) -> int: ...
    def cancel_all(self) -> None: ...
    def close(self) -> None: ...


class ThreadExecutor:
    def __init__(self, db_path: str | Path, bus: EventBus | None = None, *, concurrency: int = 1,
                 check_kpi: bool = False, make_model: Callable[[RunRequest], Model] | None = None) -> None:
        self.db_path, self.bus, self.check_kpi = db_path, bus or EventBus(), check_kpi
        self.concurrency = max(1, concurrency)
        self.pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="odcv-sweep")
        self.make_model = make_model  # tests and benchmarks: a scripted model instead of resolve_model
        self.pending: dict[Future[RunOutcome], str] = {}
        self.cancels: dict[str, threading.Event] = {}

    def capacity(self) -> int:
        return self.concurrency

    def submit(self, req: RunRequest) -> None:
        cancel = threading.Event()
        self.cancels[req.run_id] = cancel
        model = self.make_model(req) if self.make_model else None
        fut = self.pool.submit(run_one, req, db_path=self.db_path, bus=self.bus, cancel=cancel, model=model,
                               check_kpi=self.check_kpi)
        self.pending[fut] = req.run_id

    def poll(self, timeout: float = 0.2) -> list[RunRecord]:
        if not self.pending:
            return []
        done, _ = wait(list(self.pending), timeout=timeout, return_when=FIRST_COMPLETED)
        out = []
        for fut in done:
            rid = self.pending.pop(fut)
            self.cancels.pop(rid, None)
            if not fut.cancelled() and fut.exception() is None:
                out.append(fut.result().run)
        return out

    def running(self) -> int:
        return len(self.pending)

    def cancel_all(self) -> None:
        for ev in self.cancels.values():
            ev.set()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
