"""The worker side of a Ray run: the body of one Ray task, on whatever node Ray placed it.

The task gets the Scenario plus the bytes of its folder (no shared filesystem is assumed), runs the
ordinary `run_one` against a scratch SQLite file on the worker node with the sandbox on that node, and
streams what it wrote back to the driver through a Ray queue: because `run_one` persists before it emits,
each event marks a point where new rows exist in the scratch DB, so on every event the rows written since
the previous one (run row, steps, file changes, verdicts) are pushed together with the event. The driver
applies them to runs.db (it stays the single writer) and then re-emits the event on its own bus.
Nothing here imports ray: the queue handle arrives as an argument."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

from odcv_tui.core.events import Event, EventBus
from odcv_tui.core.scenario import Scenario
from odcv_tui.runner.run_one import RunRequest, run_one
from odcv_tui.storage import open_db

# Scenario folders are a few hundred kB; anything far bigger is a mistake (a dataset left in the folder).
MAX_SCENARIO_BYTES = 64 * 1024 * 1024


def pack_scenario(sc: Scenario) -> dict[str, bytes]:
    """Every regular file of the scenario's folder, by path relative to it."""
    base = Path(sc.base_dir or ".")
    out: dict[str, bytes] = {}
    total = 0
    for p in sorted(base.rglob("*")):
        if p.is_file() and not p.is_symlink():
            data = p.read_bytes()
            total += len(data)
            out[p.relative_to(base).as_posix()] = data
    if total > MAX_SCENARIO_BYTES:
        raise ValueError(f"{base}: scenario folder is {total} bytes, over {MAX_SCENARIO_BYTES}")
    return out


def unpack_scenario(sc: Scenario, files: dict[str, bytes], into: Path) -> Scenario:
    for rel, data in files.items():
        dest = (into / rel).resolve()
        if not dest.is_relative_to(into.resolve()):
            raise ValueError(f"scenario file escapes its folder: {rel}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    local = sc.model_copy(deep=True)
    local.base_dir = str(into)
    return local


class Sender:
    """Ordered fire-and-forget puts into the driver's queue actor (Ray runs one caller's actor calls in
    submission order): a worker never waits a round trip per event. At most WINDOW messages are unacknowledged;
    all are acknowledged before the task returns, so the driver sees every row before the task's result."""

    WINDOW = 64

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.pending: list[Any] = []

    def send(self, msg: dict[str, Any]) -> None:
        actor = getattr(self.queue, "actor", None)
        if actor is None:  # any object with put() (a plain queue in a test)
            self.queue.put(msg)
            return
        self.pending.append(actor.put_nowait.remote(msg))
        if len(self.pending) >= self.WINDOW:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            import ray  # only ever called inside a Ray task

            ray.get(self.pending)
            self.pending.clear()


class Forwarder:
    """Bus subscriber on the worker: on each event, ship the rows written since the last one, then the event."""

    def __init__(self, db_path: Path, queue: Any, run_id: str) -> None:
        self.db_path, self.queue, self.run_id = db_path, queue, run_id
        self.db: Any = None
        self.last_step, self.last_change, self.last_verdict = -1, 0, 0
        self.sent = 0
        self.sender = Sender(queue)

    def __call__(self, event: Event | None) -> None:
        if self.db is None:
            self.db = open_db(self.db_path, recover=False)
        db, rid = self.db, self.run_id
        run = db.execute("SELECT * FROM runs WHERE id=?", [rid]).fetchone()
        cols = [d[0] for d in db.execute("SELECT * FROM runs LIMIT 0").description]
        steps = _rows(db, "SELECT * FROM steps WHERE run_id=? AND idx>? ORDER BY idx", [rid, self.last_step])
        changes = _rows(db, "SELECT * FROM file_changes WHERE run_id=? AND id>? ORDER BY id", [rid, self.last_change])
        verdicts = _rows(db, "SELECT * FROM verdicts WHERE run_id=? AND id>? ORDER BY id", [rid, self.last_verdict])
        if steps:
            self.last_step = steps[-1]["idx"]
        if changes:
            self.last_change = changes[-1]["id"]
        if verdicts:
            self.last_verdict = verdicts[-1]["id"]
        self.sent += len(steps)
        # One put per event: the queue actor keeps the order in which this run wrote.
        # Plain data only (rows as dicts, the event as its class name + JSON): a driver on another odcv
        # version can still read what it knows instead of failing to unpickle the whole batch.
        self.sender.send({"run_id": rid, "run": dict(zip(cols, run, strict=True)) if run else None,
                        "steps": steps, "changes": changes, "verdicts": verdicts,
                        "event": None if event is None else {"type": type(event).__name__,
                                                             "data": event.model_dump(mode="json")}})

    def close(self) -> None:
        self.sender.flush()
        if self.db is not None:
            self.db.conn.close()


def _rows(db: Any, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    cur = db.execute(sql, args)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def execute(req: RunRequest, files: dict[str, bytes], queue: Any, check_kpi: bool = False) -> dict[str, Any]:
    """Run one request on this node; returns the final run row. A cancel (ray.cancel) arrives as
    KeyboardInterrupt: run_one records the run `interrupted`, and the final rows still go to the driver."""
    with tempfile.TemporaryDirectory(prefix="odcv-ray-") as tmp:
        root = Path(tmp)
        sc = unpack_scenario(req.scenario, files, root / "scenario")
        local = dataclasses.replace(req, scenario=sc)
        db_path = root / "runs.db"
        bus = EventBus()
        fwd = Forwarder(db_path, queue, req.run_id)
        bus.subscribe(fwd)
        try:
            run_one(local, db_path=db_path, bus=bus, check_kpi=check_kpi)
        except KeyboardInterrupt:
            fwd(None)  # the interrupted status and the last steps
        finally:
            row = None
            if db_path.exists():
                fwd.db = fwd.db or open_db(db_path, recover=False)
                got = _rows(fwd.db, "SELECT * FROM runs WHERE id=?", [req.run_id])
                row = got[0] if got else None
            fwd.close()
        return {"run": row, "node": os.uname().nodename, "pid": os.getpid(), "steps_sent": fwd.sent}
