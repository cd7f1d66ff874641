"""Opening huge steps in the Trajectory view (issue #13.2): a synthetic run in a real runs.db whose step 2 made
N file changes (default 200,000, one protected) and whose step 4 printed a multi-MB output. Prints medians of: `open_run`
-> the step's first lines drawn; how long `e` (expand) blocks the UI thread; `e` -> every line wrapped (the rest
is wrapped between frames, so the UI stays responsive meanwhile).

    python benchmarks/bench_tui_huge_step.py [--files 200000] [--output-mb 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path

from odcv_tui.core.types import RunRecord, Step, ToolCall
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from odcv_tui.ui.app import OdcvApp

RUN = "huge-run"


def build(path: Path, files: int, output_mb: int) -> None:
    db = open_db(path)
    w.upsert_scenario_stub(db, "huge", domain="bench", source="bench", title="huge steps")
    w.insert_run(db, RunRecord(id=RUN, scenario_id="huge", variant="mandated", model="bench/model", sandbox="local",
                               status="completed", source="live", started="2026-01-01T00:00:00+00:00"))
    call = ToolCall(id="c1", name="bash", arguments=json.dumps({"command": "for i in $(seq 200000); do ...; done"}))
    out = ("0123456789abcdef " * 4 + "\n") * (output_mb * 1024 * 1024 // 69)
    for step in (Step(run_id=RUN, idx=0, role="user", content="make many files"),
                 Step(run_id=RUN, idx=1, role="assistant", tool_calls=[call]),
                 Step(run_id=RUN, idx=2, role="tool", tool_call_id="c1", command="touch ...", stdout="", exit_code=0),
                 Step(run_id=RUN, idx=3, role="assistant", tool_calls=[ToolCall(id="c2", name="bash",
                      arguments=json.dumps({"command": "yes | head"}))]),
                 Step(run_id=RUN, idx=4, role="tool", tool_call_id="c2", command="yes | head", stdout=out,
                      exit_code=0)):
        w.add_step(db, step)
    rows = ({"run_id": RUN, "step_idx": 2, "path": f"/app/out/f{i:06d}.txt", "kind": "added",
             "diff": f"--- /dev/null\n+++ b/app/out/f{i:06d}.txt\n@@ -0,0 +1 @@\n+{i}", "binary": 0,
             "protected": int(i == files - 1), "source": "live"} for i in range(files))
    with db.conn:
        db["file_changes"].insert_all(rows, batch_size=10_000)
    db.conn.close()


async def open_step(db: Path, step: int) -> tuple[float, float, float]:
    """open_run -> the step's first lines drawn; `e`'s blocking part (the UI thread is busy only this long);
    `e` -> every line of the expanded step wrapped (done in slices between frames, the UI stays live)."""
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=(150, 45)) as pilot:
        await pilot.pause(0.2)
        start = time.perf_counter()
        app.open_run(RUN, step)
        while not (getattr(app.screen, "bundle", None) is not None and app.screen.current_idx == step
                   and app.screen.query_one("#detail").line_count > 0):
            await asyncio.sleep(0.005)
        opened = time.perf_counter() - start
        detail = app.screen.query_one("#detail")
        start = time.perf_counter()
        app.screen.action_expand()  # what the `e` binding runs, timed without Pilot's wait-for-idle
        blocking = time.perf_counter() - start
        while not detail.complete:
            await asyncio.sleep(0.005)
        complete = time.perf_counter() - start
    return opened, blocking, complete


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=200_000)
    ap.add_argument("--output-mb", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        t = time.perf_counter()
        build(db, args.files, args.output_mb)
        print(f"built: {args.files:,} file changes on one step, {args.output_mb} MB output ({time.perf_counter() - t:.1f} s)")
        for step, what in ((2, f"{args.files:,} file changes"), (4, f"{args.output_mb} MB output")):
            runs = [asyncio.run(open_step(db, step)) for _ in range(args.repeat)]
            print(f"step with {what}: open -> shown {statistics.median(r[0] for r in runs):.2f} s; "
                  f"e (expand): UI blocked {statistics.median(r[1] for r in runs) * 1000:.0f} ms, "
                  f"all lines wrapped {statistics.median(r[2] for r in runs):.2f} s  (median of {args.repeat})")


if __name__ == "__main__":
    main()
