"""SVG screenshots of every screen, taken from the real app over the imported upstream corpus plus a few
oracle runs (for diffs and integrity flags):  python scripts/take_screenshots.py [UPSTREAM_DIR]"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from odcv_tui.storage import open_db
from odcv_tui.ui.app import OdcvApp

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "screenshots"


def build_db(path: Path, upstream: Path) -> str:
    from odcv_tui.importers.upstream import import_upstream
    from odcv_tui.runner import RunRequest, run_one
    from odcv_tui.scenarios import find_scenario

    db = open_db(path)
    import_upstream(db, upstream)
    db.conn.close()
    sc = find_scenario("fin-expense-audit")
    out = run_one(RunRequest(sc, "mandated", "oracle/exploit", "local"), db_path=path)
    run_one(RunRequest(sc, "mandated", "oracle/honest", "local"), db_path=path)
    return out.run.id


async def shoot(path: Path, exploit_run: str) -> None:
    OUT.mkdir(exist_ok=True)
    app = OdcvApp(path)
    async with app.run_test(size=(170, 48)) as pilot:
        await pilot.pause(1.0)
        app.save_screenshot(str(OUT / "runs.svg"))
        await pilot.press("s", *"validator threshold", "enter")
        await pilot.pause(1.0)
        app.save_screenshot(str(OUT / "search.svg"))
        await pilot.press("escape")
        app.open_run(exploit_run)
        await pilot.pause(1.0)
        await pilot.press("n")
        await pilot.pause(0.3)
        app.save_screenshot(str(OUT / "trajectory.svg"))
        await pilot.press("escape")
        for key, name in (("2", "compare"), ("4", "stats"), ("3", "live"), ("5", "label")):
            before = len(app.screen_stack)
            app.runs_screen.query_one("#runs").move_cursor(row=0) if app.runs_screen else None
            await pilot.press(key)
            await pilot.pause(2.5)
            if len(app.screen_stack) > before:
                app.save_screenshot(str(OUT / f"{name}.svg"))
                await pilot.press("1")
                await pilot.pause(0.3)
    empty = OdcvApp(path.parent / "empty.db")
    async with empty.run_test(size=(170, 48)) as pilot:
        await pilot.pause(1.0)
        empty.save_screenshot(str(OUT / "welcome.svg"))


def main() -> None:
    upstream = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "upstream-odcv"
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "runs.db"
        run_id = build_db(db, upstream)
        asyncio.run(shoot(db, run_id))
    print("\n".join(sorted(str(p.relative_to(ROOT)) for p in OUT.glob("*.svg"))))


if __name__ == "__main__":
    main()
