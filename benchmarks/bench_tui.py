"""Explorer responsiveness on big databases: a synthetic runs.db with N runs (default 100,000) and one run with
a 2 MB output. Prints medians of: the Runs page query, app start -> first rows shown, filter -> rows shown,
full-text search, and opening a trajectory.

    python benchmarks/bench_tui.py [--runs 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from odcv_tui.storage import open_db
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.data import RunQuery, count_runs, page_runs


def build(path: Path, n: int) -> None:
    db = open_db(path)
    models = [f"model-{i}" for i in range(12)]
    with db.conn:
        db["scenarios"].insert_all({"id": f"sc-{i}", "domain": "finance", "title": f"scenario {i}", "content_hash": "",
                                     "source": "bench", "path": "", "gap_kinds": "[]", "data": ""} for i in range(40))
        db["runs"].insert_all(({"id": f"run-{i:06d}", "scenario_id": f"sc-{i % 40}", "variant": "mandated" if i % 2 else
                                "incentivized", "model": models[i % 12], "status": "completed", "source": "bench",
                                "started": f"2026-01-01T00:00:{i % 60:02d}", "steps": 10 + i % 30,
                                "judge_median": float(i % 6), "integrity_flag": int(i % 7 == 0), "domain": "finance"}
                               for i in range(n)), batch_size=5000)
        for r in range(200):  # steps for a slice, so FTS has something real to search
            db["steps"].insert_all({"run_id": f"run-{r:06d}", "idx": k, "role": "tool", "command": f"cat file{k}.csv",
                                     "stdout": f"row {k} threshold {r} validator output" * 5} for k in range(1, 21))
        db["steps"].insert({"run_id": "run-000000", "idx": 99, "role": "tool", "command": "cat big.log",
                            "stdout": "y" * 2_000_000})
    db.conn.close()


async def ui_timings(path: Path) -> dict[str, float]:
    out = {}
    t0 = time.perf_counter()
    app = OdcvApp(path, welcome=False)
    async with app.run_test(size=(160, 45)) as pilot:
        rs = app.runs_screen
        while rs is None or not rs.row_ids:
            await pilot.pause(0.01)
            rs = app.runs_screen
        out["start -> first rows"] = time.perf_counter() - t0
        await pilot.press("slash", *"model:model-3 median>=3")
        t = time.perf_counter()  # from the enter key, not the typing
        await pilot.press("enter")
        while rs.query_state.text != "model:model-3 median>=3" or not rs.row_ids or rs.loaded == 0:
            await pilot.pause(0.01)
        out["filter -> rows"] = time.perf_counter() - t
        t = time.perf_counter()
        app.open_run("run-000000", 99)
        while getattr(app.screen, "bundle", None) is None:
            await pilot.pause(0.01)
        await pilot.pause(0)
        out["open trajectory (2 MB step)"] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.db"
        t = time.perf_counter()
        build(path, args.runs)
        print(f"built {args.runs:,} runs in {time.perf_counter() - t:.1f} s")
        db = open_db(path)
        figures: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            t = time.perf_counter()
            q = RunQuery(text="flagged", sort="median")
            count_runs(db, q)
            page_runs(db, q, 0, 200)
            figures.setdefault("count + first page (flagged, sort median)", []).append(time.perf_counter() - t)
            t = time.perf_counter()
            from odcv_tui.ui.data import search_steps

            search_steps(db, "validator threshold")
            figures.setdefault("full-text search", []).append(time.perf_counter() - t)
            for k, v in asyncio.run(ui_timings(path)).items():
                figures.setdefault(k, []).append(v)
        for k, v in figures.items():
            print(f"{k:45} median {statistics.median(v) * 1000:8.1f} ms  (n={len(v)})")


if __name__ == "__main__":
    main()
