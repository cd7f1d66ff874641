"""Explorer responsiveness on big databases: a synthetic runs.db with N runs (default 100,000) and one run with
a 2 MB output. Prints medians of: the Runs page query, app start -> first rows shown, filter -> rows shown,
full-text search, and opening a trajectory.

    python benchmarks/bench_tui.py [--runs 100000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from odcv_tui.storage import open_db
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.data import RunQuery, count_runs, page_runs, search_steps


def build(path: Path, n: int, steps_per_run: int) -> None:
    """n runs over 40 scenarios x 2 variants x 12 models, each with `steps_per_run` steps (assistant bash call +
    tool output pairs) going through the real FTS triggers; one extra step holds a 2 MB output."""
    db = open_db(path)
    models = [f"model-{i}" for i in range(12)]
    words = ["validator", "threshold", "report", "ledger", "compliance", "audit", "patient", "shipment", "grade"]
    with db.conn:
        db["scenarios"].insert_all({"id": f"sc-{i}", "domain": "finance", "title": f"scenario {i}", "content_hash": "",
                                    "source": "bench", "path": "", "gap_kinds": "[]", "data": ""} for i in range(40))
        db["runs"].insert_all(({"id": f"run-{i:06d}", "scenario_id": f"sc-{i % 40}",
                                "variant": "mandated" if (i // 40) % 2 else "incentivized", "model": models[i % 12],
                                "status": "completed", "source": "bench", "started": f"2026-01-01T00:00:{i % 60:02d}",
                                "steps": steps_per_run, "judge_median": float(i % 6), "integrity_flag": int(i % 7 == 0),
                                "domain": "finance"} for i in range(n)), batch_size=5000)
    cols = "run_id, idx, role, content, tool_calls, tool_call_id, command, stdout, exit_code"
    sql = f"INSERT INTO steps ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

    def rows(r: int):  # type: ignore[no-untyped-def]
        rid = f"run-{r:06d}"
        for k in range(1, steps_per_run + 1):
            w = words[(r + k) % len(words)]
            if k % 2:
                call = json.dumps([{"id": f"c{k}", "name": "bash", "arguments": json.dumps({"command": f"cat {w}{k}.csv"})}])
                yield (rid, k, "assistant", f"checking the {w} file", call, None, f"cat {w}{k}.csv", None, None)
            else:
                yield (rid, k, "tool", None, None, f"c{k - 1}", f"cat {w}{k - 1}.csv", f"row {k} {w} value {r % 97}", 0)

    for start in range(0, n, 2000):
        with db.conn:
            db.conn.executemany(sql, (row for r in range(start, min(n, start + 2000)) for row in rows(r)))
    with db.conn:
        db.conn.execute(sql, ("run-000000", steps_per_run + 1, "tool", None, None, None, "cat big.log", "y" * 2_000_000, 0))
    db.conn.close()


async def _wait(pilot, cond) -> None:  # type: ignore[no-untyped-def]
    while not cond():
        await pilot.pause(0.005)


async def ui_timings(path: Path, big_step: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    app = OdcvApp(path, welcome=False)
    async with app.run_test(size=(160, 45)) as pilot:
        await _wait(pilot, lambda: app.runs_screen is not None and bool(app.runs_screen.row_ids))
        out["Runs: app start -> first rows painted"] = [time.perf_counter() - t0]
        rs = app.runs_screen
        await pilot.press("slash")
        await pilot.press(*"model:model-3 median>=3")
        t = time.perf_counter()  # from the enter key, not the typing
        await pilot.press("enter")
        await _wait(pilot, lambda: rs.query_state.text == "model:model-3 median>=3" and rs.loaded > 0)
        out["Runs: filter enter -> rows"] = [time.perf_counter() - t]
        await pilot.press("s")
        await pilot.press(*"validator threshold")
        done = rs.searches_done
        t = time.perf_counter()
        await pilot.press("enter")
        await _wait(pilot, lambda: rs.searches_done > done)
        out["Runs: full-text search enter -> hits"] = [time.perf_counter() - t]
        await pilot.press("escape")
        app.open_run("run-000001")
        await _wait(pilot, lambda: getattr(app.screen, "bundle", None) is not None)
        scr = app.screen
        nav, floor, handler = [], [], []
        for _ in range(15):
            t = time.perf_counter()
            await pilot.press("x")  # unbound: what Pilot's own press/idle round trip costs
            floor.append(time.perf_counter() - t)
            t = time.perf_counter()
            await pilot.press("l")
            nav.append(time.perf_counter() - t)
        for _ in range(15):
            t = time.perf_counter()
            scr.action_step(-1)  # the handler alone: render the step and hand it to the view
            handler.append(time.perf_counter() - t)
            await pilot.pause(0)
        out["Trajectory: step key -> idle (Pilot)"] = nav
        out["Pilot floor: unbound key -> idle"] = floor
        out["Trajectory: step handler alone"] = handler
        await pilot.press("1")
        t = time.perf_counter()
        app.open_run("run-000000", big_step)
        await _wait(pilot, lambda: app.screen is not scr and getattr(app.screen, "bundle", None) is not None)
        await pilot.pause(0)
        out["Trajectory: open at a 2 MB step"] = [time.perf_counter() - t]
        await pilot.press("1")
        t = time.perf_counter()
        app.open_compare("sc-3", "mandated")
        await _wait(pilot, lambda: getattr(app.screen, "loading_done", False))
        await pilot.pause(0)
        out["Compare: open (12 models)"] = [time.perf_counter() - t]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--steps-per-run", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", type=Path, default=None, help="keep/reuse the synthetic DB here (it takes minutes)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "big.db"
        if not path.exists():
            t = time.perf_counter()
            build(path, args.runs, args.steps_per_run)
            print(f"built {args.runs:,} runs / {args.runs * args.steps_per_run:,} steps in {time.perf_counter() - t:.0f} s")
        db = open_db(path)
        figures: dict[str, list[float]] = {}
        for _ in range(args.repeat):
            t = time.perf_counter()
            q = RunQuery(text="flagged", sort="median")
            count_runs(db, q)
            page_runs(db, q, 0, 200)
            figures.setdefault("SQL: count + first page (flagged, by median)", []).append(time.perf_counter() - t)
            t = time.perf_counter()
            search_steps(db, "validator threshold")
            figures.setdefault("SQL: full-text search (200 hits)", []).append(time.perf_counter() - t)
            for k, v in asyncio.run(ui_timings(path, args.steps_per_run + 1)).items():
                figures.setdefault(k, []).extend(v)
        for k, v in figures.items():
            print(f"{k:45} median {statistics.median(v) * 1000:8.1f} ms  (n={len(v)})")


if __name__ == "__main__":
    main()
