"""Forks in the TUI through Textual's Pilot on a real runs.db: `f` in Trajectory opens the dialog, the fork
streams in Live (real loop, real bubblewrap sandbox) and lands linked to its parent with the edited prompt;
the fork's Trajectory marks the inherited steps and the branch; `F` puts parent and fork side by side in
Compare at the fork point; Runs filters forks; the Stats forks view lists them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, OptionList, Select, TextArea

from odcv_tui.runner import RunRequest, run_one
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.screens.compare import CompareScreen
from odcv_tui.ui.screens.fork_dialog import ForkDialog
from odcv_tui.ui.screens.fork_stats import ForkStatsScreen
from odcv_tui.ui.screens.trajectory import TrajectoryScreen

pytestmark = pytest.mark.bwrap
SIZE = (160, 45)


@pytest.fixture(autouse=True)
def _bwrap() -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")


async def _settle(pilot, cond, tries: int = 300) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("condition never became true")


def _children(db_path: Path, parent: str) -> list[str]:
    db = open_db(db_path)
    try:
        return [r[0] for r in db.execute("SELECT id FROM runs WHERE parent_run_id=? AND status != 'running'",
                                         [parent])]
    finally:
        db.conn.close()


async def test_f_forks_from_the_current_step_and_streams_in_live(mini_scenario, db_path: Path) -> None:
    parent = run_one(RunRequest(mini_scenario, "mandated", "oracle/exploit", "local"), db_path=db_path).run.id
    app = OdcvApp(db_path, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        app.open_run(parent, step=4)
        await _settle(pilot, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        traj = app.screen
        assert traj.current_idx == 4
        await pilot.press("f")
        await _settle(pilot, lambda: isinstance(app.screen, ForkDialog))
        dialog = app.screen
        assert dialog.query_one("#fork-model", Select).value == "oracle/honest"  # oracle agents listed first
        dialog.query_one("#fork-target", Select).value = "user"
        await _settle(pilot, lambda: not dialog.query_one("#fork-text", TextArea).disabled)
        area = dialog.query_one("#fork-text", TextArea)
        assert area.text.startswith("Produce the monthly SLA report")  # the parent's user prompt, to edit
        area.load_text("Produce the monthly SLA report. [bold]no target[/bold]")
        await pilot.press("ctrl+s")
        await _settle(pilot, lambda: app.live_screen is not None and app.screen is app.live_screen)
        await _settle(pilot, lambda: len(_children(db_path, parent)) == 1)
        [child_id] = _children(db_path, parent)
        await _settle(pilot, lambda: child_id in app.live_screen.panes and app.live_screen.panes[child_id].finished)
    db = open_db(db_path)
    child = q.get_run(db, child_id)
    assert child.status == "completed" and child.fork_step == 4 and child.model == "oracle/honest"
    assert q.get_steps(db, child_id)[1].content == "Produce the monthly SLA report. [bold]no target[/bold]"
    assert '"edit_key": "user"' in (child.fork_edits or "")


@pytest.fixture
def family(mini_scenario, db_path: Path) -> tuple[str, str]:
    from odcv_tui.runner.fork import ForkSpec, run_fork

    parent = run_one(RunRequest(mini_scenario, "mandated", "oracle/exploit", "local"), db_path=db_path).run.id
    [child] = run_fork(db_path, ForkSpec(parent, at=4, model="oracle/honest"), scenario=mini_scenario)
    return parent, child.run.id


async def test_fork_trajectory_marks_branch_and_F_compares_at_fork_point(family, db_path: Path) -> None:
    parent, child = family
    app = OdcvApp(db_path, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        app.open_run(child)
        await _settle(pilot, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        traj = app.screen
        assert f"fork of {parent} at step 4" in traj.info.plain
        steps = traj.query_one("#steps", OptionList)
        labels = [steps.get_option_at_index(i).prompt for i in range(steps.option_count)]
        assert all(not lab.plain.startswith("↳") for lab in labels[:4])  # inherited (dimmed)
        assert all(lab.plain.startswith("↳") for lab in labels[4:])  # the branch
        await pilot.press("F")
        await _settle(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.loading_done)
        cmp = app.screen
        assert [c.col.run_id for c in cmp.columns] == [parent, child]
        # Opened at the row where the fork leaves its parent (its second command: the first was inherited).
        assert cmp.columns[1].col.branch_k == 1 and cmp.columns[0].cursor == 1
        assert "fork(s)" in str(cmp.query_one("#cmp-title").render())


async def test_runs_filter_and_stats_forks_view(family, db_path: Path) -> None:
    parent, child = family
    app = OdcvApp(db_path, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        rs = app.runs_screen
        await _settle(pilot, lambda: rs.total == 2)
        await pilot.press("slash", *"is:fork", "enter")
        await _settle(pilot, lambda: rs.row_ids == [child])
        await pilot.press("slash", "ctrl+u", *"is:forked", "enter")
        await _settle(pilot, lambda: rs.row_ids == [parent])
        app.push_screen(ForkStatsScreen(db_path, outcome="integrity", bootstrap=0))
        await _settle(pilot, lambda: isinstance(app.screen, ForkStatsScreen) and app.screen.loading_done)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 1
        row = [str(c) for c in table.get_row_at(0)]
        assert row[0] == "oracle/honest" and row[1] == "none" and row[7] == "100.0"  # the parent was flagged
