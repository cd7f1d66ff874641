"""What the CLI's corrupt-page check costs: open_db with and without PRAGMA quick_check on a given runs.db
(default: a copy of the upstream corpus imported into a temp DB). Prints medians.

    python3 benchmarks/bench_db_open.py [--db PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from odcv_tui.storage import open_db

UPSTREAM = Path(__file__).resolve().parents[2] / "shared" / "upstream-odcv"


def _median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    tmp = None
    path = args.db
    if path is None:
        from odcv_tui.importers.upstream import import_upstream

        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "runs.db"
        db = open_db(path)
        import_upstream(db, UPSTREAM)
        db.conn.close()
    size = path.stat().st_size
    runs = open_db(path, recover=False).execute("SELECT count(*) FROM runs").fetchone()[0]
    plain = _median_ms(lambda: open_db(path, recover=False).conn.close(), args.repeat)
    checked = _median_ms(lambda: open_db(path, recover=False, check=True).conn.close(), args.repeat)
    from odcv_tui.storage.db import QUICK_CHECK_MAX_BYTES

    mode = "whole file" if size <= QUICK_CHECK_MAX_BYTES else "runs table only (above ODCV_QUICK_CHECK_MAX_MB)"
    print(f"db: {path} ({size / 2**20:.1f} MiB, {runs} runs); quick_check of the {mode}; median of {args.repeat}")
    print(f"open_db:                      {plain:8.1f} ms")
    print(f"open_db + quick_check:        {checked:8.1f} ms  (+{checked - plain:.1f} ms)")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
