"""Stats screen and the bar chart widget: a DB built with storage.writes whose MRs are worked out by hand,
and the imported upstream corpus (the paper's table) when present.

`python3 -m tests.test_ui_stats DB OUT.svg` saves the screenshot used in the README.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable

from odcv_tui.core.types import RunRecord, Verdict
from odcv_tui.storage import open_db
from odcv_tui.storage.writes import add_verdict, insert_run, upsert_scenario_stub
from odcv_tui.ui.screens.stats import StatsScreen
from odcv_tui.ui.widgets.bar_chart import Bar, BarChart, render_bars
from tests.test_ui_compare import screen_text, upstream_db  # noqa: F401  (session fixture, shared import)

EVIL_MODEL = "[bold red]evil\x1b[2J"
# model -> [(scenario, variant, judge scores, self score)]
RUNS = {
    "m-good": [(s, v, [0, 0, 1], None) for s in ("s1", "s2", "s3") for v in ("incentivized", "mandated")],
    "m-bad": [("s1", "incentivized", [4, 4, 3], 4), ("s1", "mandated", [3, 3, 0], None),
              ("s2", "incentivized", [1, 2, 2], None), ("s2", "mandated", [0, 0, 0], None),
              ("s3", "incentivized", [5, 5, 5], 1), ("s3", "mandated", [2, 3, 3], None)],
    EVIL_MODEL: [("s1", "incentivized", [3, 3, 3], None)],
}


@pytest.fixture
def small_db(db_path: Path) -> Path:
    db = open_db(db_path)
    for sid in ("s1", "s2", "s3"):
        upsert_scenario_stub(db, sid, domain="test")
    for model, runs in RUNS.items():
        for i, (sid, variant, scores, self_score) in enumerate(runs):
            rid = f"{len(model)}-{i}-{sid}-{variant}"
            insert_run(db, RunRecord(id=rid, scenario_id=sid, variant=variant, model=model, status="completed"))
            for j, score in enumerate(scores):
                add_verdict(db, Verdict(run_id=rid, judge=f"j{j}", kind="imported", score=score))
            if self_score is not None:
                add_verdict(db, Verdict(run_id=rid, judge="self-x", kind="self", score=self_score))
    db.conn.close()
    return db_path


class Host(App):
    def __init__(self, screen_factory) -> None:
        super().__init__()
        self.factory = screen_factory

    def on_mount(self) -> None:
        self.push_screen(self.factory())


async def settle(pilot, screen: StatsScreen, timeout: float = 30.0) -> None:
    start = time.perf_counter()
    await pilot.pause()
    while not screen.loading_done:
        assert time.perf_counter() - start < timeout, "stats did not load"
        await pilot.pause(0.02)
    await pilot.pause()


def rows(screen: StatsScreen) -> dict[str, list[str]]:
    table = screen.query_one("#stats-table", DataTable)
    out = {}
    for i in range(table.row_count):
        cells = [str(getattr(c, "plain", c)) for c in table.get_row_at(i)]
        out[cells[0]] = cells
    return out


# ---- the chart -----------------------------------------------------------------------------------

def test_render_bars_scales_draws_error_bars_and_keeps_labels_literal() -> None:
    bars = [Bar("zero", 0.0, 0.0, 4.5, "CP"), Bar("half", 50.0, 40.0, 60.0), Bar(EVIL_MODEL, 100.0, 90.0, 100.0),
            Bar("none", None)]
    text = render_bars(bars, 100)
    lines = text.plain.split("\n")
    assert len(lines) == len(bars) + 2  # bars, axis rule, tick labels
    assert all(len(line) <= 100 for line in lines)
    assert "[bold red]evil␛[2J" in lines[2] and "\x1b" not in text.plain
    half = lines[1].split("│", 1)[1]
    area = half.index("  50.0%")  # the value is printed right after the bar area
    lo, hi = half.index("├"), half.index("┤")
    assert half.count("├") == 1 and half.count("┤") == 1
    # The bar fills up to the CI's low end, the error bar runs 40..60 % of the area over and past it.
    assert half[:lo] == "█" * lo and abs(lo - 0.4 * area) <= 1 and abs(hi - 0.6 * area) <= 1
    assert set(half[lo + 1:hi]) == {"─"} and half[hi + 1:area].strip() == ""
    assert "[40.0–60.0]" in lines[1] and "CP" in lines[0]
    assert "n/a" in lines[3]
    assert lines[-1].strip().startswith("0") and "100" in lines[-1]


# ---- the screen ----------------------------------------------------------------------------------

async def test_table_matches_hand_computed_stats(small_db: Path) -> None:
    app = Host(lambda: StatsScreen(small_db, bootstrap=200))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        assert isinstance(scr, StatsScreen)
        await settle(pilot, scr)
        assert scr.error is None
        table = rows(scr)
        assert list(table) == ["m-good", "m-bad", EVIL_MODEL.replace("\x1b", "␛")]  # by MR, as the paper
        good, bad = table["m-good"], table["m-bad"]
        # model, runs judged, MR, CI, severity, MR inc, MR man, misaligned, SAMR
        assert bad[1:3] == ["6/6", "66.7"] and bad[4:8] == ["2.83", "66.7", "66.7", "4"]
        assert bad[8] == "50.0 (1/2)"
        lo, hi = (float(x) for x in bad[3].split(" – "))
        assert 0 <= lo <= 66.7 <= hi <= 100
        assert good[2] == "0.0" and good[3].startswith("≤ ") and good[3].endswith("(CP)") and good[8] == "n/a"
        chart = scr.query_one("#stats-chart", BarChart)
        assert [b.label for b in chart.bars] == ["m-good", "m-bad", EVIL_MODEL]
        assert chart.bars[0].note == "CP" and chart.bars[1].value == pytest.approx(200 / 3)
        text = screen_text(app)
        assert "[bold red]evil␛[2J" in text and "200 scenario bootstrap resamples" in text


async def test_keys_sort_resample_and_toggle_chart(small_db: Path) -> None:
    app = Host(lambda: StatsScreen(small_db, bootstrap=0))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        assert rows(scr)["m-bad"][3] == "–"  # no bootstrap, no CI
        await pilot.press("s")
        assert scr.sort_key == "model" and list(rows(scr))[:2] == ["[bold red]evil␛[2J", "m-bad"]
        await pilot.press("s")
        assert scr.sort_key == "samr" and list(rows(scr))[0] == "m-bad"
        # Called directly, not via press(), so nothing runs between the action and the checks: the
        # loading indicator is up and the worker's result has not been shown yet.
        scr.action_bootstrap()
        assert scr.bootstrap == 10_000
        assert scr.query_one("#stats-body").loading and not scr.loading_done
        await settle(pilot, scr)
        assert scr.report is not None and scr.report.bootstrap == 10_000
        assert " – " in rows(scr)["m-bad"][3]
        chart = scr.query_one("#stats-chart", BarChart)
        await pilot.press("c")
        assert not chart.display
        await pilot.press("c")
        assert chart.display
        await pilot.press("b")  # 10k -> 1k resamples
        await settle(pilot, scr)
        assert scr.report.bootstrap == 1_000 and not scr.query_one("#stats-body").loading


async def test_empty_and_broken_databases(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    open_db(empty).conn.close()
    app = Host(lambda: StatsScreen(empty, bootstrap=0))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app.screen)
        assert "No runs in this database yet" in screen_text(app)
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    app = Host(lambda: StatsScreen(bad, bootstrap=0))
    async with app.run_test(size=(120, 30)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        assert scr.error and str(bad) in scr.error and "\n" not in scr.error
        assert rows(scr) == {}


# ---- over the real upstream corpus ---------------------------------------------------------------

PAPER = {  # model: (MR, severity, MR incentivized, MR mandated) from the ODCV-Bench paper
    "claude-opus-4.7": ("0.0", "0.01", "0.0", "0.0"),
    "llama-4-maverick": ("16.2", "1.68", "15.8", "16.7"),
    "gpt-5.5": ("21.2", "0.71", "25.0", "17.5"),
    "minimax-m2.7": ("35.9", "1.37", "30.8", "41.0"),
    "grok-4.20": ("62.8", "2.56", "56.4", "69.2"),
}


@pytest.mark.upstream
async def test_upstream_table_is_the_papers(upstream_db: Path, tmp_path: Path) -> None:  # noqa: F811
    app = Host(lambda: StatsScreen(upstream_db))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        table = rows(scr)
        assert len(table) == 12
        for model, (mr, sev, inc, man) in PAPER.items():
            row = table[model]
            assert (row[2], row[4], row[5], row[6]) == (mr, sev, inc, man), model
        start = time.perf_counter()
        await pilot.press("r")
        await settle(pilot, scr)
        assert time.perf_counter() - start < 10.0
    out = tmp_path / "stats.svg"
    await take_screenshot(upstream_db, out)
    assert "grok-4.20" in out.read_text()


async def take_screenshot(db_path: Path, out: Path) -> None:
    app = Host(lambda: StatsScreen(db_path))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot, app.screen)
        await pilot.pause(0.2)
        out.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(out.name, str(out.parent))


if __name__ == "__main__":
    import asyncio

    asyncio.run(take_screenshot(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "screenshots/stats.svg")))
