"""Sweep throughput: 160 oracle runs (40 scenarios x 2 variants x 2 oracles, local sandbox) with the thread
executor and with Ray on a real local cluster (`ray start` processes on this machine: a head with no CPUs
plus 1, then 2 worker nodes of 1 CPU each); and the driver's write ceiling: 32 concurrent Ray tasks streaming
synthetic step rows through the queue into runs.db, next to the same rows applied without Ray.

    python benchmarks/bench_sweep.py [--scenarios all] [--skip-ray | --skip-thread | --stream-only] [--stream-steps 400]

Per-run overhead = median over runs of (submit -> result seen by the driver) minus the run's own duration
(runs.started -> runs.ended): what the executor adds to each run (placement, shipping the scenario, the
scratch DB on the worker, streaming). Runs/min is the whole sweep's wall clock.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from odcv_tui.core.events import CommandFinished
from odcv_tui.runner.sweep import Sweep
from odcv_tui.runner.sweep_exec import ThreadExecutor
from odcv_tui.runner.sweep_spec import SweepSpec
from odcv_tui.storage import open_db


class Timed:
    """Wraps an executor to time each run from submit to the driver seeing its result."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.bus = inner, inner.bus
        self.t_submit: dict[str, float] = {}
        self.t_done: dict[str, float] = {}

    def capacity(self) -> int:
        return self.inner.capacity()

    def submit(self, req: Any) -> None:
        self.t_submit[req.run_id] = time.monotonic()
        self.inner.submit(req)

    def poll(self, timeout: float = 0.2) -> list[Any]:
        out = self.inner.poll(timeout)
        for run in out:
            self.t_done[run.id] = time.monotonic()
        return out

    def running(self) -> int:
        return self.inner.running()

    def cancel_all(self) -> None:
        self.inner.cancel_all()

    def close(self) -> None:
        self.inner.close()


def _dur(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


def sweep_once(label: str, db_path: Path, spec: SweepSpec, make: Any) -> dict[str, Any]:
    ex = Timed(make(db_path))
    sweep = Sweep(db_path, spec, executor=ex)
    t0 = time.monotonic()
    s = sweep.run()
    wall = time.monotonic() - t0
    db = open_db(db_path, recover=False)
    rows = {r[0]: (r[1], r[2], r[3]) for r in db.execute(
        "SELECT id, started, ended, status FROM runs WHERE sweep_id=?", [s.sweep_id])}
    db.conn.close()
    over = [ex.t_done[rid] - ex.t_submit[rid] - _dur(st, en) for rid, (st, en, _) in rows.items()
            if rid in ex.t_done and st and en]
    durs = [_dur(st, en) for st, en, _ in rows.values() if st and en]
    res = {"label": label, "runs": len(rows), "ok": sum(v[2] == "completed" for v in rows.values()),
           "wall_s": wall, "runs_per_min": 60 * len(rows) / wall, "run_median_s": statistics.median(durs),
           "overhead_median_s": statistics.median(over) if over else float("nan")}
    print(f"{label:<28} {res['runs']:>4} runs ({res['ok']} completed) {wall:7.1f} s  {res['runs_per_min']:6.1f} "
          f"runs/min  run median {res['run_median_s']:.2f} s  overhead median {res['overhead_median_s']:.3f} s",
          flush=True)
    return res


def _stream_task(run_id: str, queue: Any, steps: int) -> int:
    # What ray_task.Forwarder pushes, one message per step, as fast as the queue takes them.
    from odcv_tui.core.events import CommandFinished
    from odcv_tui.runner.ray_task import Sender

    sender = Sender(queue)
    now = datetime.now().isoformat()
    run = {"id": run_id, "scenario_id": "bench", "variant": "mandated", "model": "bench/stream", "sandbox": "local",
           "status": "running", "source": "live", "started": now, "steps": 0}
    for i in range(steps):
        step = {"run_id": run_id, "idx": i, "role": "tool", "content": None, "command": f"echo {i}",
                "stdout": "x" * 1000, "stderr": "", "exit_code": 0, "duration": 0.01, "created": now}
        sender.send({"run_id": run_id, "run": run if i == 0 else None, "steps": [step], "changes": [],
                   "verdicts": [], "event": {"type": "CommandFinished", "data": CommandFinished(
                       run_id=run_id, step_idx=i, command=f"echo {i}", stdout="", stderr="", exit_code=0,
                       duration=0.01).model_dump(mode="json")}})
    sender.flush()
    return steps


def stream_bench(tmp: Path, address: str, n_runs: int, steps: int) -> dict[str, float]:
    import ray

    from odcv_tui.runner.ray_exec import RayExecutor

    db_path = tmp / "stream.db"
    open_db(db_path).conn.close()
    ex = RayExecutor(db_path, address=address)
    seen = [0]
    ex.bus.subscribe(lambda ev: seen.__setitem__(0, seen[0] + isinstance(ev, CommandFinished)))
    task = ray.remote(num_cpus=0.01, max_retries=0)(_stream_task)
    refs = [task.remote(f"stream-{i}", ex.queue, steps) for i in range(n_runs)]
    total = n_runs * steps
    first = None
    while seen[0] < total:
        got = ex.drain(0.5)
        if got and first is None:
            first = time.monotonic()
    end = time.monotonic()
    ray.get(refs)
    ray_rate = total / (end - (first or end))
    # The same rows applied without Ray: SQLite + the driver's apply alone.
    msgs = []
    for m in range(n_runs):
        for i in range(steps):
            msgs.append({"run_id": f"local-{m}", "run": {"id": f"local-{m}", "scenario_id": "bench",
                                                        "variant": "mandated", "model": "bench/stream",
                                                        "status": "running", "source": "live", "steps": 0}
                         if i == 0 else None,
                         "steps": [{"run_id": f"local-{m}", "idx": i, "role": "tool", "command": f"echo {i}",
                                    "stdout": "x" * 1000, "stderr": "", "exit_code": 0}],
                         "changes": [], "verdicts": [], "event": None})
    t0 = time.monotonic()
    for k in range(0, len(msgs), n_runs):  # batches the size one drain sees with every run streaming
        ex.apply(msgs[k:k + n_runs])
    local_rate = len(msgs) / (time.monotonic() - t0)
    ex.close()
    ray.shutdown()
    print(f"driver write: {ray_rate:,.0f} steps/s through the Ray queue ({n_runs} streaming runs, {total} steps); "
          f"{local_rate:,.0f} steps/s applying the same rows without Ray", flush=True)
    return {"ray_steps_per_s": ray_rate, "apply_steps_per_s": local_rate}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenarios", default="all")
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument("--skip-thread", action="store_true")
    ap.add_argument("--stream-only", action="store_true", help="only the driver write-throughput part")
    ap.add_argument("--stream-runs", type=int, default=32)
    ap.add_argument("--stream-steps", type=int, default=400)
    args = ap.parse_args()
    spec = SweepSpec(scenarios=[args.scenarios], variants=["mandated", "incentivized"],
                     models=["oracle/honest", "oracle/exploit"])
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as t:
        tmp = Path(t)
        for c in () if args.skip_thread or args.stream_only else (1, 2):
            results.append(sweep_once(f"thread, concurrency {c}", tmp / f"thread{c}.db", spec,
                                      lambda p, c=c: ThreadExecutor(p, concurrency=c)))
        if args.skip_ray:
            return
        import ray

        from odcv_tui.runner.ray_exec import RayExecutor
        from odcv_tui.runner.ray_local import LocalCluster

        cluster = LocalCluster()
        try:
            t0 = time.monotonic()
            cluster.start_head(num_cpus=0)
            for n in () if args.stream_only else (1, 2):
                cluster.add_node(num_cpus=1)
                print(f"(cluster with {n} worker node(s) up after {time.monotonic() - t0:.0f} s)", flush=True)
                time.sleep(2)  # let the new node's resources reach the GCS
                results.append(sweep_once(f"ray, {n} worker node(s) x 1 CPU", tmp / f"ray{n}.db", spec,
                                          lambda p: RayExecutor(p, address=cluster.address)))
                ray.shutdown()
            if args.stream_only:
                cluster.add_node(num_cpus=1)  # the streaming tasks need a node with CPU
                time.sleep(2)
            stream_bench(tmp, cluster.address, args.stream_runs, args.stream_steps)
        finally:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
