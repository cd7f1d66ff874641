"""The driver side of `--executor ray`: each run is a Ray task placed by Ray on any node with a free CPU;
its rows stream back through one Ray queue (an actor pinned to the driver's node) and the driver, the single
writer of runs.db, applies them and re-emits the events, so every subscriber (CLI progress, Live) sees
cluster runs exactly like local ones.

Ray does placement, transport and failure detection; nothing here schedules. A task whose node dies
surfaces as a Ray error on its object ref: the run keeps every step already streamed and is marked
`interrupted` (Ray's own task retry is off: a retry would re-run under the same run id; the sweep's
`--resume` re-runs the cell as a new run instead)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from odcv_tui.core.events import EventBus
from odcv_tui.core.types import RunRecord
from odcv_tui.runner.run_one import RunRequest
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w

RUN_COLUMNS_DRIVER_OWNS = ("error",)  # the worker's `pid:N` owner marker means nothing on the driver


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # the optional extra
        from odcv_tui.core.errors import OdcvError

        raise OdcvError("--executor ray needs Ray: pip install 'odcv-tui[ray]'") from exc
    return ray


class RayExecutor:
    def __init__(self, db_path: str | Path, bus: EventBus | None = None, *, address: str | None = None,
                 num_cpus: float = 1.0, check_kpi: bool = False) -> None:
        ray = _ray()
        self.ray = ray
        if not ray.is_initialized():
            # Worker nodes need odcv-tui installed (same version); keys stay in each node's environment.
            ray.init(address=address or "auto", log_to_driver=False, logging_level="warning",
                     runtime_env={"env_vars": {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}})
        from ray.util.queue import Queue
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from odcv_tui.runner.ray_task import execute

        here = ray.get_runtime_context().get_node_id()
        # The queue lives on the driver's node so a worker node's death cannot take streamed rows with it.
        self.queue = Queue(actor_options={"num_cpus": 0, "scheduling_strategy": NodeAffinitySchedulingStrategy(
            here, soft=False)})
        self.remote = ray.remote(num_cpus=num_cpus, max_retries=0)(execute)
        self.num_cpus = num_cpus
        self.db_path = db_path
        self.db = open_db(db_path, recover=False)
        self.bus = bus or EventBus()
        self.check_kpi = check_kpi
        self.pending: dict[Any, str] = {}  # object ref -> run id
        self.started: set[str] = set()
        self.rows_applied = 0
        self._files: dict[str, dict[str, bytes]] = {}
        self._file_refs: dict[str, Any] = {}
        self._cols: dict[str, set[str]] = {}

    def capacity(self) -> int:
        """Runs the cluster can hold at once: its CPUs over the CPUs one run asks for."""
        cpus = float(self.ray.cluster_resources().get("CPU", 0))
        return max(1, int(cpus // self.num_cpus))

    def submit(self, req: RunRequest) -> None:
        from odcv_tui.runner.ray_task import pack_scenario

        sc = req.scenario
        w.upsert_scenario(self.db, sc)
        if sc.id not in self._file_refs:
            # One object per scenario in the object store, shared by every run of it.
            self._file_refs[sc.id] = self.ray.put(pack_scenario(sc))
        ref = self.remote.remote(req, self._file_refs[sc.id], self.queue, self.check_kpi)
        self.pending[ref] = req.run_id

    def drain(self, timeout: float = 0.0) -> int:
        """Apply every queued message (waiting up to `timeout` for the first); returns messages applied."""
        from ray.util.queue import Empty

        msgs: list[dict[str, Any]] = []
        n = self.queue.qsize()
        if n:
            msgs = self.queue.get_nowait_batch(n)
        elif timeout > 0:
            try:
                msgs = [self.queue.get(block=True, timeout=timeout)]
            except Empty:
                return 0
        if msgs:
            self.apply(msgs)
        return len(msgs)

    def _columns(self, table: str) -> set[str]:
        if table not in self._cols:
            self._cols[table] = set(self.db[table].columns_dict)
        return self._cols[table]

    def _fit(self, table: str, row: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
        # Only columns this runs.db has: a worker on a newer odcv never alters the driver's schema.
        cols = self._columns(table)
        return {k: v for k, v in row.items() if k in cols and k not in drop}

    def apply(self, msgs: list[dict[str, Any]]) -> None:
        """Write a batch of streamed rows in one transaction, then emit their events in order."""
        from odcv_tui.core import events as ev_mod

        db = self.db
        events = []
        with db.conn:
            for m in msgs:
                rid, run = m["run_id"], m["run"]
                if run is not None:
                    row = self._fit("runs", run, RUN_COLUMNS_DRIVER_OWNS)
                    if rid not in self.started:
                        self.started.add(rid)
                        # The driver owns the row: if it dies, the next open marks the run interrupted.
                        row["error"] = f"pid:{os.getpid()}" if run["status"] == "running" else run.get("error")
                        db["runs"].upsert(row, pk="id")
                    else:
                        if run["status"] != "running":
                            row["error"] = run.get("error")
                        db["runs"].update(rid, row)
                if m["steps"]:
                    db["steps"].insert_all([self._fit("steps", r) for r in m["steps"]], replace=True)
                    self.rows_applied += len(m["steps"])
                if m["changes"]:
                    db["file_changes"].insert_all([self._fit("file_changes", c, ("id",)) for c in m["changes"]])
                for v in m["verdicts"]:
                    db.execute("DELETE FROM verdicts WHERE run_id=? AND judge=? AND kind=?",
                               [v["run_id"], v["judge"], v["kind"]])
                    db["verdicts"].insert(self._fit("verdicts", v, ("id",)))
                ev = m["event"]
                cls = getattr(ev_mod, ev["type"], None) if ev else None
                if cls is not None and isinstance(cls, type) and hasattr(cls, "model_validate"):
                    try:
                        events.append(cls.model_validate(ev["data"]))
                    except ValueError:
                        pass  # an event shape this driver does not know: its rows are written all the same
        for m in msgs:
            if m["verdicts"]:
                w.refresh_run_summary(db, m["run_id"])
        for ev in events:
            self.bus.emit(ev)

    def poll(self, timeout: float = 0.2) -> list[RunRecord]:
        """Drain streamed rows; return the runs whose task ended (a lost node -> `interrupted`)."""
        from odcv_tui.storage import queries as q

        self.drain(timeout)
        if not self.pending:
            return []
        done, _ = self.ray.wait(list(self.pending), num_returns=len(self.pending), timeout=0)
        out = []
        if done:
            self.drain(0)  # rows a finished task pushed just before returning
        for ref in done:
            rid = self.pending.pop(ref)
            try:
                self.ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - node or worker lost, task cancelled: the run is cut short
                self.drain(0)
                self._interrupt(rid, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}")
            run = q.get_run(self.db, rid)
            if run is not None:
                out.append(run)
        return out

    def _interrupt(self, run_id: str, why: str) -> None:
        from odcv_tui.core.events import RunFinished
        from odcv_tui.storage import queries as q

        row = self.db.execute("SELECT status FROM runs WHERE id=?", [run_id]).fetchone()
        if row is None or row[0] != "running":
            return  # never started (nothing to keep), or its final row arrived before the failure
        w.update_run(self.db, run_id, status="interrupted", ended=w.now_iso(), error=f"ray: {why}")
        run = q.get_run(self.db, run_id)
        if run is not None:
            self.bus.emit(RunFinished(run=run))

    def running(self) -> int:
        return len(self.pending)

    def cancel_all(self) -> None:
        for ref in list(self.pending):
            self.ray.cancel(ref)  # KeyboardInterrupt in the task: run_one records `interrupted`

    def close(self) -> None:
        deadline = time.monotonic() + 10
        while self.pending and time.monotonic() < deadline:
            self.poll(0.2)
        for rid in self.pending.values():
            self._interrupt(rid, "driver closed before the task ended")
        self.pending.clear()
        try:
            self.queue.shutdown()
        except Exception:  # noqa: BLE001 - the cluster may already be gone
            pass
        self.db.conn.close()
