"""The Trajectory screen shows a replay's divergence class next to the diverged step (step list and body)."""

from __future__ import annotations

import json
from pathlib import Path

from odcv_tui.core.types import RunRecord, Step, ToolCall
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.screens.trajectory import TrajectoryScreen


def _db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    db = open_db(path)
    w.upsert_scenario_stub(db, "S")
    w.insert_run(db, RunRecord(id="r1", scenario_id="S", variant="mandated", model="m", source="upstream",
                               status="completed", started=w.now_iso()))
    classes = {2: ("environment", "missing-file: exit code 1 != recorded 0"), 4: None,
               6: ("nondeterministic", "date: stdout differs: -2026-04-08")}
    for i, cmd in ((1, "cat /tmp/a"), (3, "ls"), (5, "date")):
        call = ToolCall(id=f"c{i}", name="bash", arguments=json.dumps({"command": cmd}))
        w.add_step(db, Step(run_id="r1", idx=i, role="assistant", tool_calls=[call], command=cmd))
        w.add_step(db, Step(run_id="r1", idx=i + 1, role="tool", tool_call_id=f"c{i}", command=cmd, stdout="x",
                            exit_code=0))
        cls = classes[i + 1]
        db["replays"].insert({"run_id": "r1", "step_idx": i + 1, "command": cmd, "stdout": "y", "stderr": "",
                              "exit_code": 1, "diverged": int(cls is not None), "sandbox": "local",
                              "divergence_class": cls[0] if cls else None, "detail": cls[1] if cls else None,
                              "created": w.now_iso()})
    return path


async def test_divergence_class_next_to_diverged_steps(tmp_path: Path) -> None:
    from textual.widgets import OptionList

    app = OdcvApp(_db(tmp_path))
    async with app.run_test(size=(160, 45)) as pilot:
        app.open_run("r1", step=2)
        for _ in range(60):
            await pilot.pause(0.05)
            if isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None:
                break
        scr = app.screen
        assert isinstance(scr, TrajectoryScreen)
        steps = scr.query_one("#steps", OptionList)
        labels = {steps.get_option_at_index(i).id: str(steps.get_option_at_index(i).prompt)
                  for i in range(steps.option_count)}
        assert "≠env" in labels["2"] and "≠nondet" in labels["6"]
        assert "≠" not in labels["4"] and "≠" not in labels["1"]
        body = scr.body.renderables if hasattr(scr.body, "renderables") else []
        text = " ".join(str(getattr(r, "plain", r)) for r in body)
        assert "replay diverged (environment): missing-file" in text
