"""`odcv screenshots`: SVGs of every screen, taken from the real app driven like a user would (keys, not
internals), over a database holding the imported upstream corpus plus a few oracle runs."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from odcv_tui.ui.app import OdcvApp

SIZE = (170, 48)


async def _until(pilot: Pilot[Any], cond: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if cond():
                return
        except Exception:  # noqa: BLE001 - the screen may not be composed yet; keep polling
            pass
        await pilot.pause(0.05)
    raise RuntimeError(f"screenshots: timed out waiting for {what}")


def _name(app: OdcvApp) -> str:
    return type(app.screen).__name__


async def shoot_all(db: Path, out: Path, *, exploit_run: str | None, compare: tuple[str, str] | None,
                    playback_run: str | None, label: bool = True, fork_family: str | None = None) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []

    out_abs = out.resolve()  # the welcome shot is taken from a temp cwd

    def save(app: OdcvApp, name: str) -> None:
        app.save_screenshot(f"{name}.svg", str(out_abs))
        saved.append(out / f"{name}.svg")

    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        runs = app.runs_screen
        def rows_shown() -> bool:
            return runs is not None and bool(runs.row_ids)

        await _until(pilot, rows_shown, "the Runs table")
        # On a loaded box the shot once came out empty (likely a late resize clearing and reloading the table):
        # settle, then require the rows again before shooting.
        await pilot.pause(0.3)
        await _until(pilot, rows_shown, "the Runs table")
        save(app, "runs")
        await pilot.press("s")
        await pilot.press(*"threshold", "enter")
        await _until(pilot, lambda: bool(runs and runs.searches_done), "the search")
        save(app, "search")
        await pilot.press("escape")
        if exploit_run:
            app.open_run(exploit_run)
            await _until(pilot, lambda: getattr(app.screen, "bundle", None) is not None, "the trajectory")
            await pilot.press("n")
            await pilot.pause(0.3)
            save(app, "trajectory")
            await pilot.press("1")
        if compare:
            app.open_compare(*compare)
            await _until(pilot, lambda: getattr(app.screen, "loading_done", False), "the comparison")
            await pilot.press("l", "l")
            await pilot.pause(0.3)
            save(app, "compare")
            await pilot.press("1")
        if fork_family:  # a parent and its forks, opened at the fork point (Trajectory: F)
            from odcv_tui.ui.screens.compare import CompareScreen

            app.push_screen(CompareScreen(db, family=fork_family))
            await _until(pilot, lambda: getattr(app.screen, "loading_done", False), "the fork comparison")
            await pilot.pause(0.3)
            save(app, "fork_compare")
            await pilot.press("1")
        await pilot.press("4")
        await _until(pilot, lambda: getattr(app.screen, "loading_done", False), "the statistics", 120)
        await pilot.pause(0.3)
        save(app, "stats")
        await pilot.press("1")
        if playback_run:
            app.open_live(playback_run_id=playback_run, playback_paused=True)
            await _until(pilot, lambda: f"play:{playback_run}" in getattr(app.screen, "panes", {}), "playback")
            for _ in range(8):
                await pilot.press("full_stop")
                await pilot.pause(0.05)
            await pilot.press("f")  # the launch form beside the playback
            await pilot.pause(0.4)
            save(app, "live")
            await pilot.press("1")
        if label:
            await pilot.press("5")
            await _until(pilot, lambda: _name(app) == "LabelSetupScreen", "the label form")
            await pilot.press("ctrl+u", *"screenshot", "enter")
            await _until(pilot, lambda: _name(app) == "LabelScreen" and getattr(app.screen, "bundle", None),
                         "a label session")
            await pilot.press("l", "l", "l", "m", "c")  # toggle an archetype and cite the step
            await pilot.pause(0.3)
            save(app, "label")
    # The welcome screen names its DB: an empty `runs.db` in a temp dir, shown by that relative name (what a
    # newcomer running `odcv` in a fresh folder sees), never an internal path.
    cwd = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="odcv-welcome-") as tmp:
        os.chdir(tmp)
        try:
            empty = OdcvApp(Path("runs.db"))
            async with empty.run_test(size=SIZE) as pilot:
                await _until(pilot, lambda: _name(empty) == "WelcomeScreen", "the welcome screen")
                await pilot.pause(0.3)  # pushed from a worker: let it paint before the shot
                save(empty, "welcome")
        finally:
            os.chdir(cwd)
    return saved
