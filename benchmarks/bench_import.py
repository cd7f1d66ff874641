"""Import time of the full upstream corpus (fresh DB and re-import) and `odcv stats` time with 10,000
bootstrap resamples. Prints the median of N repetitions.

    python benchmarks/bench_import.py [--src ../shared/upstream-odcv] [--repeat 3] [--bootstrap 10000]
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bootstrap", type=int, default=10_000)
    args = ap.parse_args()
    if not (args.src / "agent_logs").is_dir():
        sys.exit(f"bench_import: {args.src}: no agent_logs/ (pass --src)")
    fresh, again, stats_api, stats_cli = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            path = Path(tmp) / f"b{i}.db"
            db = open_db(path)
            t = time.perf_counter()
            s = import_upstream(db, args.src)
            fresh.append(time.perf_counter() - t)
            t = time.perf_counter()
            import_upstream(db, args.src)
            again.append(time.perf_counter() - t)
            t = time.perf_counter()
            compute(db, bootstrap=args.bootstrap, seed=i)
            stats_api.append(time.perf_counter() - t)
            db.conn.close()
            # The whole command a user types, interpreter start-up included.
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "stats", "--db", str(path), "--bootstrap",
                            str(args.bootstrap), "--format", "json"], check=True, capture_output=True)
            stats_cli.append(time.perf_counter() - t)
    print(f"corpus: {s.runs} runs, {s.steps} steps, {s.verdicts} verdicts")
    for name, xs in (("import (fresh db)", fresh), ("re-import (idempotent)", again),
                     (f"stats compute B={args.bootstrap}", stats_api), (f"odcv stats B={args.bootstrap}", stats_cli)):
        print(f"{name:28s} median {statistics.median(xs):6.2f} s  (n={len(xs)}: "
              f"{', '.join(f'{x:.2f}' for x in xs)})")


if __name__ == "__main__":
    main()
