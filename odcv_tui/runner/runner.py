"""Many runs at once: a thread pool of N sandboxes, per-run cancellation, run ids known up front."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from odcv_tui.core.events import EventBus
from odcv_tui.runner.run_one import RunOutcome, RunRequest, new_run_id, run_one


class Runner:
    def __init__(self, db_path: str | Path, bus: EventBus | None = None, concurrency: int = 1,
                 check_kpi: bool = False) -> None:
        self.db_path = db_path
        self.bus = bus or EventBus()
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="odcv-run")
        self.check_kpi = check_kpi
        self.cancels: dict[str, threading.Event] = {}
        self.futures: dict[str, Future[RunOutcome]] = {}

    def start(self, requests: list[RunRequest]) -> list[str]:
        """Queue the runs and return their ids at once; they run in the pool."""
        ids = []
        for req in requests:
            req.run_id = req.run_id or new_run_id(req)
            cancel = threading.Event()
            self.cancels[req.run_id] = cancel
            self.futures[req.run_id] = self.pool.submit(
                run_one, req, db_path=self.db_path, bus=self.bus, cancel=cancel, check_kpi=self.check_kpi)
            ids.append(req.run_id)
        return ids

    def cancel(self, run_id: str) -> None:
        if run_id in self.cancels:
            self.cancels[run_id].set()
            self.futures[run_id].cancel()  # a run still queued never starts

    def cancel_all(self) -> None:
        for run_id in list(self.cancels):
            self.cancel(run_id)

    def join(self) -> list[RunOutcome]:
        out = []
        for fut in self.futures.values():
            if not fut.cancelled():
                out.append(fut.result())
        return out

    def shutdown(self) -> None:
        self.cancel_all()
        self.pool.shutdown(wait=True, cancel_futures=True)
