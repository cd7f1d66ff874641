"""80 x 24 works (issue #14.2), checked on the real app with Pilot over the fixed snapshot runs.db: every screen
keeps its content on screen instead of a zero-width column or a clipped form. (Pictures: the 80x24 baselines of
tests/test_ui_snapshots.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable

from odcv_tui.ui.app import OdcvApp
from tests.test_ui_snapshots import build_db, until

NARROW = (80, 24)


@pytest.fixture(scope="module")
def fixed_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("narrow") / "runs.db"
    return path, build_db(path)


@pytest.fixture
def app_db(fixed_db: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "runs.db"
    shutil.copyfile(fixed_db[0], path)
    return path, fixed_db[1]


async def _runs_loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    rs = pilot.app.runs_screen
    await until(pilot, lambda: rs.total > 0 and len(rs.row_ids) == rs.total, "runs")


async def test_runs_keeps_the_columns_a_reader_scans_first(app_db) -> None:  # type: ignore[no-untyped-def]
    db, _ = app_db
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=NARROW) as pilot:
        await _runs_loaded(pilot)
        table = app.runs_screen.query_one("#runs", DataTable)
        right = 0
        for key in ("model", "scenario", "variant", "median", "integrity"):
            col = next(c for c in table.ordered_columns if c.key.value == key)
            right += col.get_render_width(table)
        assert right <= table.scrollable_content_region.width  # all five fit without scrolling sideways
        assert table.get_cell_at((0, 4)).plain in ("FLAGGED", "clean")  # one word for integrity


async def test_trajectory_shows_step_content_and_v_swaps_in_the_verdicts(app_db) -> None:  # type: ignore[no-untyped-def]
    db, ids = app_db
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=NARROW) as pilot:
        await _runs_loaded(pilot)
        app.open_run(ids["exploit"], 5)
        await until(pilot, lambda: getattr(app.screen, "bundle", None) is not None, "trajectory")
        await pilot.pause()
        scr = app.screen
        detail, verdicts = scr.query_one("#detail"), scr.query_one("#verdicts")
        assert detail.size.width >= 40 and detail.line_count > 5  # was 0 wide until `v`
        assert not verdicts.display
        await pilot.press("v")
        await pilot.pause()
        assert verdicts.display and verdicts.size.width >= 50 and not detail.display  # where the step was
        await pilot.press("v", "l")
        await pilot.pause()
        assert detail.display and scr.current_idx == 6


async def test_label_session_keeps_panel_and_content_and_the_form_fits(app_db) -> None:  # type: ignore[no-untyped-def]
    db, _ = app_db
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=NARROW) as pilot:
        await _runs_loaded(pilot)
        await pilot.press("5")
        await until(pilot, lambda: type(app.screen).__name__ == "LabelSetupScreen", "label setup")
        await pilot.pause()
        start = app.screen.query_one("#start", Button)
        assert start.region.bottom <= 23 and start.region.right <= 80  # in view above the footer, not clipped
        await pilot.press("ctrl+u", *"ana", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "LabelScreen" and app.screen.bundle is not None,
                    "label session")
        await pilot.pause()
        detail, panel = app.screen.query_one("#detail"), app.screen.query_one("#label-panel")
        assert detail.size.width >= 40 and panel.size.width >= 30 and detail.line_count > 0


async def test_compare_shows_whole_columns(app_db) -> None:  # type: ignore[no-untyped-def]
    db, _ = app_db
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=NARROW) as pilot:
        await _runs_loaded(pilot)
        app.open_compare("sla-uptime", "incentivized")
        await until(pilot, lambda: getattr(app.screen, "loading_done", False), "compare")
        await pilot.pause()
        widths = [c.outer_size.width for c in app.screen.columns]
        assert widths == [40, 40, 40]  # two fill the screen exactly; the third is one column-scroll away
