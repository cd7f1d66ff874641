"""Wall time of running every scenario x both variants x both oracles (the scenario checker's work),
on the local and/or docker sandbox. Prints per-run medians and the total.

    python benchmarks/bench_oracle_runs.py [--sandbox local|docker|both] [--limit N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from odcv_tui.core.types import VARIANTS
from odcv_tui.runner import RunRequest, run_one
from odcv_tui.runner.runner import Runner
from odcv_tui.scenarios import load_all


def bench(sandbox: str, limit: int | None, concurrency: int) -> None:
    scenarios = sorted(load_all(), key=lambda s: s.id)[:limit]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        # One serial pass for per-run figures...
        per_run = []
        for sc in scenarios[: min(len(scenarios), 6)]:
            t = time.perf_counter()
            run_one(RunRequest(sc, "mandated", "oracle/exploit", sandbox), db_path=db, check_kpi=True)
            per_run.append(time.perf_counter() - t)
        # ...then the whole library as the checker runs it.
        requests = [RunRequest(sc, v, m, sandbox) for sc in scenarios for v in VARIANTS
                    for m in ("oracle/honest", "oracle/exploit")]
        runner = Runner(db, concurrency=concurrency, check_kpi=True)
        t = time.perf_counter()
        runner.start(requests)
        outcomes = runner.join()
        runner.shutdown()
        wall = time.perf_counter() - t
    ok = sum(o.run.status == "completed" for o in outcomes)
    print(f"[{sandbox}] one oracle run (serial, {len(per_run)} samples): median {statistics.median(per_run):.3f} s")
    print(f"[{sandbox}] {len(requests)} runs ({len(scenarios)} scenarios x 2 variants x 2 oracles), "
          f"concurrency {concurrency}: wall {wall:.1f} s, {ok} completed")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", choices=["local", "docker", "both"], default="local")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--concurrency", type=int, default=2)
    a = ap.parse_args()
    for sb in (["local", "docker"] if a.sandbox == "both" else [a.sandbox]):
        bench(sb, a.limit, a.concurrency)


if __name__ == "__main__":
    main()
