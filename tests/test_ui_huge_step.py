"""Huge steps do not freeze the Trajectory view (issue #13.2): a run in a real runs.db whose step 2 made 12,000
file changes (the last one protected) and whose step 4 printed 3 MB. Before the fix the bundle loaded every
change, the view drew every diff at once (20k changes: 29 s; 200k: minutes) and 8 MB outputs were cleaned whole.
Figures: benchmarks/bench_tui_huge_step.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from odcv_tui.core.types import RunRecord, Step, ToolCall
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.data import CHANGES_PER_STEP, load_bundle
from odcv_tui.ui.widgets.lazy_view import LazyView
from odcv_tui.ui.widgets.step_view import CHANGES_COLLAPSED

FILES = 12_000
OUTPUT = "line of output that goes on and on\n" * 90_000  # 3.2 MB


@pytest.fixture
def huge_db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    db = open_db(path)
    w.upsert_scenario_stub(db, "huge", domain="test", source="builtin", title="huge steps")
    w.insert_run(db, RunRecord(id="huge", scenario_id="huge", variant="mandated", model="m/huge", sandbox="local",
                               status="completed", source="live", started="2026-01-01T00:00:00+00:00"))
    calls = [ToolCall(id=f"c{i}", name="bash", arguments=json.dumps({"command": f"cmd {i}"})) for i in (1, 2)]
    for step in (Step(run_id="huge", idx=0, role="user", content="go"),
                 Step(run_id="huge", idx=1, role="assistant", tool_calls=[calls[0]]),
                 Step(run_id="huge", idx=2, role="tool", tool_call_id="c1", command="cmd 1", stdout="", exit_code=0),
                 Step(run_id="huge", idx=3, role="assistant", tool_calls=[calls[1]]),
                 Step(run_id="huge", idx=4, role="tool", tool_call_id="c2", command="cmd 2", stdout=OUTPUT,
                      exit_code=0)):
        w.add_step(db, step)
    rows = ({"run_id": "huge", "step_idx": 2, "path": f"/app/out/f{i:05d}", "kind": "added", "binary": 0,
             "diff": f"--- /dev/null\n+++ b/app/out/f{i:05d}\n@@ -0,0 +1 @@\n+{i}", "source": "live",
             "protected": int(i == FILES - 1)} for i in range(FILES))
    with db.conn:
        db["file_changes"].insert_all(rows, batch_size=10_000)
    db.conn.close()
    return path


def test_bundle_loads_a_bounded_number_of_changes_protected_first(huge_db: Path) -> None:
    db = open_db(huge_db)
    try:
        bundle = load_bundle(db, "huge")
    finally:
        db.conn.close()
    assert bundle is not None
    assert bundle.change_counts == {2: FILES}
    assert len(bundle.changes[2]) == CHANGES_PER_STEP
    assert bundle.changes[2][0].protected and bundle.changes[2][0].path == f"/app/out/f{FILES - 1:05d}"
    assert [c.path for c in bundle.changes[2][1:4]] == ["/app/out/f00000", "/app/out/f00001", "/app/out/f00002"]


async def _wait(pilot, cond, what: str, seconds: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def test_huge_steps_open_capped_and_wrap_lazily(huge_db: Path) -> None:
    app = OdcvApp(huge_db, welcome=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run("huge", 2)
        await _wait(pilot, lambda: getattr(app.screen, "bundle", None) is not None and app.screen.current_idx == 2,
                    "the trajectory")
        scr = app.screen
        detail = scr.query_one("#detail", LazyView)
        text = "\n".join(t.plain for t in scr.body.renderables if hasattr(t, "plain"))
        assert f"file changes: {FILES:,}" in text
        assert f"… {FILES - CHANGES_COLLAPSED:,} more file changes not shown (e shows more)" in text
        parts = [getattr(t, "plain", "") for t in scr.body.renderables]
        first_diff = parts[parts.index(f"file changes: {FILES:,}") + 1]
        assert first_diff.startswith("ADDED") and "PROTECTED" in first_diff  # evidence first, whatever its order

        # Expanded: 2,000 diffs. Only the first screens are wrapped when shown; the rest arrives between frames.
        scr.action_expand()
        first = detail.line_count
        assert not detail.complete and 0 < first < 400
        await _wait(pilot, lambda: detail.complete, "the rest of the expanded step")
        assert detail.line_count > 5 * CHANGES_PER_STEP > first
        assert f"{FILES - CHANGES_PER_STEP:,} more file changes not shown (all are in runs.db)" in \
            scr.body.renderables[-1].plain

        # 3 MB of output (still expanded): cut at the expanded cap with the count of what is hidden.
        await pilot.press("l", "l")
        await _wait(pilot, lambda: scr.current_idx == 4, "step 4")
        stdout = [t.plain for t in scr.body.renderables if hasattr(t, "plain") and "line of output" in t.plain]
        assert stdout and stdout[0].endswith("more characters hidden (press e to expand)")
        assert len(stdout[0]) < 450_000
