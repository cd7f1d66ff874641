"""Replay throughput on the authors' published runs (issue #15: 950 runs <= 5 min on this box).

    python benchmarks/bench_replay.py [--runs 48 | --all] [--concurrency 1,2] [--sandbox local|docker]

Imports the upstream corpus and converts its scenarios into a scratch folder, then replays an evenly spread
sample of runs (or all 950) at each concurrency and prints the median wall time of --repeat replays, runs/s,
time per command per worker, the time projected for all 950 runs, and the divergence classes replayed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from odcv_tui.importers.upstream import import_upstream
from odcv_tui.runner.replay import replay_many, replayable_runs
from odcv_tui.runner.replay_classify import CLASSES, report
from odcv_tui.scenarios.upstream_convert import convert_all
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w

UPSTREAM = Path(os.environ.get("ODCV_UPSTREAM_DIR", Path(__file__).resolve().parents[2] / "shared" / "upstream-odcv"))


def prepare(work: Path) -> Path:
    db_path = work / "runs.db"
    db = open_db(db_path)
    import_upstream(db, UPSTREAM)
    for c in convert_all(UPSTREAM, work / "scenarios"):
        w.upsert_scenario(db, c.scenario)
    return db_path


def bench(db_path: Path, ids: list[str], concurrency: int, sandbox: str, total: int, repeat: int) -> None:
    walls, cmds, failed = [], 0, 0
    busy = []
    for _ in range(repeat):
        t0, cpu0 = time.perf_counter(), _cpu_ticks()
        results = replay_many(db_path, ids, sandbox_kind=sandbox, concurrency=concurrency)
        walls.append(time.perf_counter() - t0)
        cpu1 = _cpu_ticks()
        busy.append(100 * (1 - (cpu1[1] - cpu0[1]) / max(1, cpu1[0] - cpu0[0])))
        cmds = sum(r.commands for r in results)
        failed = sum(r.error is not None for r in results)
    wall = statistics.median(walls)
    print(f"{sandbox:6} -j{concurrency}: {len(ids)} runs, {cmds} commands: median {wall:6.1f} s "
          f"(n={repeat}: {', '.join(f'{x:.1f}' for x in walls)})  "
          f"({len(ids) / wall:4.2f} runs/s, {1000 * wall * concurrency / max(cmds, 1):4.0f} ms/command/worker)"
          f"  -> all {total} runs ~ {wall / len(ids) * total / 60:5.1f} min, CPU {statistics.median(busy):.0f}% busy"
          + (f"  [{failed} failed]" if failed else ""))
    # Per concurrency: more runs at once must not change what replays (a slower command could hit the timeout).
    [row] = report(open_db(db_path), "all")
    print("  divergence: " + ", ".join(f"{c} {row.counts[c]} ({row.pct(row.counts[c]):.1f}%)" for c in CLASSES)
          + f" of {row.commands} replayed commands")


def _cpu_ticks() -> tuple[int, int]:
    """(all, idle + iowait) jiffies of the whole machine, from /proc/stat: how much of the box a replay used."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=48, help="evenly spread sample size")
    ap.add_argument("--all", action="store_true", help="replay all runs (5-6 min with -j 2; use --repeat 1)")
    ap.add_argument("--concurrency", default="1,2", help="comma-separated list")
    ap.add_argument("--sandbox", choices=["local", "docker"], default="local")
    ap.add_argument("--repeat", type=int, default=3, help="timed repetitions per concurrency (median printed)")
    args = ap.parse_args()
    if not (UPSTREAM / "agent_logs").is_dir():
        raise SystemExit(f"{UPSTREAM}: upstream corpus not found (set ODCV_UPSTREAM_DIR)")
    with tempfile.TemporaryDirectory(prefix="odcv-bench-replay-") as tmp:
        t = time.perf_counter()
        db_path = prepare(Path(tmp))
        ids, _ = replayable_runs(open_db(db_path))
        print(f"prepared {len(ids)} replayable runs in {time.perf_counter() - t:.1f} s")
        sample = ids if args.all else ids[:: max(1, len(ids) // args.runs)][: args.runs]
        for c in (int(x) for x in args.concurrency.split(",")):
            bench(db_path, sample, c, args.sandbox, len(ids), args.repeat)


if __name__ == "__main__":
    main()
