"""`odcv screenshots --db`: every screen is shot from the real app over an existing DB, which stays unlabeled."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from odcv_tui.cli.main import cli

pytestmark = pytest.mark.bwrap


def test_screenshots_of_every_screen(mini_scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    from odcv_tui.runner import RunRequest, run_one

    db = tmp_path / "runs.db"
    for model in ("oracle/exploit", "oracle/honest"):
        run_one(RunRequest(mini_scenario, "mandated", model, "local"), db_path=db)
    out = tmp_path / "shots"
    res = CliRunner().invoke(cli, ["screenshots", "--db", str(db), "--out", str(out)])
    assert res.exit_code == 0, res.output
    names = sorted(p.stem for p in out.glob("*.svg"))
    assert names == ["compare", "live", "runs", "search", "stats", "trajectory", "welcome"]
    assert "FLAGGED" in (out / "trajectory.svg").read_text().replace("&#160;", " ")
    assert "oracle/exploit" in (out / "runs.svg").read_text()
    # The welcome screen names the DB a newcomer would see, never an internal path, and leaves nothing behind.
    welcome = (out / "welcome.svg").read_text().replace("&#160;", " ")
    assert "runs.db holds no runs yet" in welcome and ".empty-for-welcome" not in welcome
    assert sorted(p.name for p in out.iterdir()) == [f"{n}.svg" for n in names]
    import sqlite3

    assert sqlite3.connect(db).execute("SELECT count(*) FROM labels").fetchone()[0] == 0
