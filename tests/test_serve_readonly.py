"""The explorer's read-only mode (what `odcv serve` runs without --allow-runs), checked with Textual Pilot: Live,
judging, forks, playback and labeling refuse with a notice; with runs allowed the same keys work."""

from __future__ import annotations

from pathlib import Path

import pytest

from odcv_tui.importers.upstream import import_upstream
from odcv_tui.storage import open_db
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.screens.trajectory import TrajectoryScreen
from tests.conftest import FIXTURES

CURRENT = FIXTURES / "upstream_results" / "repo" / "existing_results" / "current"


@pytest.fixture
def small_db(db_path: Path) -> Path:
    db = open_db(db_path)
    import_upstream(db, CURRENT, integrity=True)
    db.conn.close()
    return db_path


async def _settle(pilot, cond) -> None:  # type: ignore[no-untyped-def]
    for _ in range(200):
        if cond():
            return
        await pilot.pause(0.02)


async def test_read_only_refuses_every_writing_key(small_db: Path) -> None:
    app = OdcvApp(small_db, welcome=False, allow_runs=False)
    async with app.run_test(size=(140, 40)) as pilot:
        await _settle(pilot, lambda: app.runs_screen is not None and app.runs_screen.current_run_id())
        for key in ("3", "5", "p"):
            await pilot.press(key)
            await pilot.pause(0.05)
            assert type(app.screen).__name__ == "RunsScreen", key
        await pilot.press("enter")
        await _settle(pilot, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        assert isinstance(app.screen, TrajectoryScreen)
        for key in ("J", "f", "p"):
            await pilot.press(key)
            await pilot.pause(0.05)
        assert isinstance(app.screen, TrajectoryScreen) and app.live_screen is None
        assert not [w for w in app.workers if w.group in ("judge", "fork")]
        app.action_live()  # the command palette calls actions directly
        app.action_label()
        await pilot.pause(0.05)
        assert isinstance(app.screen, TrajectoryScreen)
        notes = [n.message for n in app._notifications]
        assert notes and all("read-only explorer" in m for m in notes)


async def test_runs_allowed_opens_label_setup(small_db: Path) -> None:
    app = OdcvApp(small_db, welcome=False, allow_runs=True)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("5")
        await _settle(pilot, lambda: type(app.screen).__name__ == "LabelSetupScreen")
        assert type(app.screen).__name__ == "LabelSetupScreen"
        assert not any("read-only" in n.message for n in app._notifications)
