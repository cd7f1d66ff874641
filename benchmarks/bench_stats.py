"""`odcv stats` time with 10,000 bootstrap resamples on the imported upstream corpus (12 models, 40 scenarios,
66 model contrasts): the computation alone and the whole command a user types (interpreter start-up included).
Median of N.

    python benchmarks/bench_stats.py [--src ../shared/upstream-odcv] [--repeat 5] [--bootstrap 10000]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from odcv_tui.importers.upstream import import_upstream
from odcv_tui.stats import compute
from odcv_tui.storage import open_db

DEFAULT_SRC = Path(__file__).resolve().parents[2] / "shared" / "upstream-odcv"


def _child_cpu() -> float:
    # CPU seconds of finished children: on a shared box wall time mostly measures the other tenants.
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--bootstrap", type=int, default=10_000)
    args = ap.parse_args()
    if not (args.src / "agent_logs").is_dir():
        sys.exit(f"bench_stats: {args.src}: no agent_logs/ (pass --src)")
    api, cli, cli_cpu = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stats.db"
        db = open_db(path)
        import_upstream(db, args.src, integrity=True, workers=os.cpu_count() or 1)
        models = db.execute("SELECT COUNT(DISTINCT model) FROM runs").fetchone()[0]
        for i in range(args.repeat):
            t = time.perf_counter()
            rep = compute(db, bootstrap=args.bootstrap, seed=i)
            api.append(time.perf_counter() - t)
        db.conn.close()
        for i in range(args.repeat):
            t, c = time.perf_counter(), _child_cpu()
            subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "stats", "--db", str(path), "--bootstrap",
                            str(args.bootstrap), "--seed", str(i), "--format", "json"], check=True, capture_output=True)
            cli.append(time.perf_counter() - t)
            cli_cpu.append(_child_cpu() - c)
    print(f"{models} models, {len(rep.contrasts)} contrasts, B={args.bootstrap}; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, xs in (("stats compute()", api), ("odcv stats (whole command)", cli), ("  its CPU s", cli_cpu)):
        print(f"{name:28s} median {statistics.median(xs):6.2f} s  (n={len(xs)}: {', '.join(f'{x:.2f}' for x in xs)})")


if __name__ == "__main__":
    main()
