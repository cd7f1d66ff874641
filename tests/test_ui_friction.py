"""A newcomer's first-minute friction in the TUI (issue #14.4), each on the real app over a real runs.db:
Stats enter -> Runs filtered + cached reports, Compare keeps the run's model first + the `+` picker, Live's
defaults and the welcome screen agree on keys, the labeler name is remembered, search hits read as text with
the words highlighted and the step scrolled to them, and `c` opens Compare at once."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, SelectionList, Static

from odcv_tui.core.types import RunRecord, Step, ToolCall, Verdict
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from odcv_tui.ui import prefs, stats_cache
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.search_text import HIT_STYLE, snippet_text, unescape_json
from odcv_tui.ui.widgets.launch_form import PROVIDER_MODELS, model_selections
from tests.test_ui_snapshots import build_db, until

SIZE = (150, 45)


@pytest.fixture(scope="module")
def fixed_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    path = tmp_path_factory.mktemp("friction") / "runs.db"
    return path, build_db(path)


@pytest.fixture
def app_db(fixed_db: tuple[Path, dict[str, str]], tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "runs.db"
    shutil.copyfile(fixed_db[0], path)
    return path, fixed_db[1]


async def _runs_loaded(pilot) -> None:  # type: ignore[no-untyped-def]
    rs = pilot.app.runs_screen
    await until(pilot, lambda: rs.total > 0 and len(rs.row_ids) == rs.total, "runs")


def _status(pilot) -> str:  # type: ignore[no-untyped-def]
    return str(pilot.app.runs_screen.query_one("#status-line", Static).content)


# ---- Stats ---------------------------------------------------------------------------------------------------
async def test_stats_enter_opens_runs_of_that_model_and_revisits_are_cached(app_db) -> None:  # type: ignore[no-untyped-def]
    from odcv_tui.ui.screens.stats import StatsScreen

    db, ids = app_db
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        await _runs_loaded(pilot)
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, StatsScreen) and app.screen.loading_done, "stats", 60)
        first = app.screen
        assert first.report is not None and not first.from_cache
        table = first.query_one("#stats-table", DataTable)
        table.focus()
        table.move_cursor(row=1)
        model = str(table.coordinate_to_cell_key((1, 0)).row_key.value)
        await pilot.press("enter")
        rs = app.runs_screen
        await until(pilot, lambda: app.screen is rs and rs.query_state.text == f"model={model}"
                    and 0 < rs.total < 14 and len(rs.row_ids) == rs.total, "filtered runs")
        assert {rs.row_meta[r][2] for r in rs.row_ids} == {model}  # only that model's runs
        assert rs.query_one("#filter", Input).value == f"model={model}"

        await pilot.press("4")  # back again: the same report, straight from the cache
        await until(pilot, lambda: isinstance(app.screen, StatsScreen) and app.screen.loading_done, "stats again")
        assert app.screen is not first and app.screen.from_cache and app.screen.report is first.report
        assert "cached" in str(app.screen.query_one("#stats-status", Static).content)
        await pilot.press("1")

        writer = open_db(db)  # a new verdict changes the DB state: the next visit recomputes
        w.add_verdict(writer, Verdict(run_id=ids["honest"], judge="judge-delta", kind="imported", score=5.0))
        writer.conn.close()
        await pilot.press("4")
        await until(pilot, lambda: isinstance(app.screen, StatsScreen) and app.screen.loading_done, "recomputed", 60)
        assert not app.screen.from_cache and app.screen.report is not first.report


def test_stats_cache_key_ignores_readers_and_sees_writes(app_db) -> None:  # type: ignore[no-untyped-def]
    db, ids = app_db
    before = stats_cache.key(db, 1, 2)
    reader = open_db(db, recover=False)
    reader.execute("SELECT count(*) FROM runs").fetchone()
    reader.conn.close()
    assert stats_cache.key(db, 1, 2) == before
    writer = open_db(db)
    w.update_run(writer, ids["honest"], status="error")
    writer.conn.close()
    assert stats_cache.key(db, 1, 2) != before


# ---- Compare ---------------------------------------------------------------------------------------------------
async def test_compare_from_a_run_puts_its_model_first_and_plus_picks_a_model(app_db) -> None:  # type: ignore[no-untyped-def]
    from odcv_tui.ui.screens.compare import CompareScreen
    from odcv_tui.ui.screens.model_picker import ModelPicker

    db, _ = app_db
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        await _runs_loaded(pilot)
        rs = app.runs_screen
        row = next(i for i, r in enumerate(rs.row_ids) if rs.row_meta[r][2] == "delta/heron-mini")
        rs.query_one("#runs", DataTable).move_cursor(row=row)
        await pilot.press("c")
        assert isinstance(app.screen, CompareScreen)  # at once (no lookup worker): the next keys land here
        scr = app.screen
        await until(pilot, lambda: scr.loading_done, "compare")
        assert [c.col.model for c in scr.columns][0] == "delta/heron-mini"

        scr.models = ["delta/heron-mini"]  # one column, then add the second model the picker lists
        scr.reload()
        await until(pilot, lambda: scr.loading_done and len(scr.columns) == 1, "one column")
        await pilot.press("plus")
        assert isinstance(app.screen, ModelPicker) and app.screen.models == ["acme/falcon-2", "borealis/orca-7b",
                                                                             "cirrus/lynx-pro"]
        await pilot.press("down", "enter")
        await until(pilot, lambda: scr.loading_done and len(scr.columns) == 2, "picked model")
        assert [c.col.model for c in scr.columns] == ["delta/heron-mini", "borealis/orca-7b"]
        await pilot.press("plus", "escape")  # escape closes the picker, nothing added
        await pilot.pause()
        assert app.screen is scr and len(scr.models) == 2


# ---- Live and welcome ------------------------------------------------------------------------------------------
def test_live_defaults_to_both_oracles_and_welcome_names_the_same_keys() -> None:
    from odcv_tui.ui.screens.welcome import KEY_VARS, welcome_text

    chosen = [s.value for s in model_selections() if s.initial_state]
    assert chosen == ["oracle/honest", "oracle/exploit"]
    text = welcome_text(Path("runs.db")).plain
    assert set(KEY_VARS) == {key for _, key in PROVIDER_MODELS}
    for name, key in PROVIDER_MODELS:
        assert f"{name.split('/', 1)[0]} → {key}" in text
    assert "XAI_API_KEY" not in text or "XAI_API_KEY" in KEY_VARS


async def test_live_focus_is_visible_and_every_pane_is_reachable_by_tab(app_db) -> None:  # type: ignore[no-untyped-def]
    from odcv_tui.ui.widgets.run_pane import RunPane

    db, ids = app_db
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        await _runs_loaded(pilot)
        app.open_live(playback_run_id=ids["exploit"], playback_paused=True)
        live = app.live_screen
        await until(pilot, lambda: len(live.panes) == 1, "playback pane")
        app.open_playback(ids["honest"])
        await until(pilot, lambda: len(live.panes) == 2, "second pane")
        assert live.query_one("#models", SelectionList).selected == ["oracle/honest", "oracle/exploit"]
        reached = set()
        for _ in range(30):
            await pilot.press("tab")
            pane = live.focused_pane()
            if pane is not None:
                reached.add(pane.run_id)
                assert pane.styles.border_top[0] == "heavy"  # the focused pane stands out
        assert reached == {p.run_id for p in live.query(RunPane)}


# ---- Label -----------------------------------------------------------------------------------------------------
async def _label_setup(db: Path, typed: str | None) -> str:
    """Open the label form in a fresh app; return the labeler it proposes; start a session as `typed` if given."""
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        await _runs_loaded(pilot)
        await pilot.press("5")
        await until(pilot, lambda: type(app.screen).__name__ == "LabelSetupScreen", "label setup")
        proposed = app.screen.query_one("#labeler", Input).value
        if typed is not None:
            await pilot.press("ctrl+u", *typed, "enter")
            await until(pilot, lambda: type(app.screen).__name__ == "LabelScreen", "label session")
    return proposed


async def test_labeler_name_is_remembered_between_sessions(app_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db, _ = app_db
    assert await _label_setup(db, "zoe") != "zoe"
    assert await _label_setup(db, None) == "zoe"  # a new app: the name from last time
    assert prefs.load()["labeler"] == "zoe"
    assert prefs.config_path().is_relative_to(tmp_path)  # the test's own config home (conftest)


# ---- Search ----------------------------------------------------------------------------------------------------
def test_snippets_read_as_text_with_the_match_highlighted() -> None:
    raw = '{\\"stdout\\": \\"approved \\u00e9\\n«threshold» 0.9\\", \\"returncode\\": 0}'
    assert unescape_json('a\\"b\\\\c\\nd') == 'a"b\\c d'
    text = snippet_text(raw)
    assert '\\"' not in text.plain and "\\n" not in text.plain and "«" not in text.plain
    assert '"stdout": "approved é' in text.plain
    hit = [span for span in text.spans if span.style == HIT_STYLE]
    assert len(hit) == 1 and text.plain[hit[0].start:hit[0].end] == "threshold"


def _long_run(path: Path) -> None:
    db = open_db(path)
    w.upsert_scenario_stub(db, "long", domain="test", source="builtin", title="long output")
    w.insert_run(db, RunRecord(id="long-run", scenario_id="long", variant="mandated", model="m/long", sandbox="local",
                               status="completed", source="live", started="2026-03-01T00:00:00+00:00"))
    out = "".join(f"row {i}: nothing to see\n" for i in range(300)) + "row 300: the zanzibar threshold moved\n"
    w.add_step(db, Step(run_id="long-run", idx=0, role="user", content="look"))
    w.add_step(db, Step(run_id="long-run", idx=1, role="assistant",
                        tool_calls=[ToolCall(id="c", name="bash", arguments=json.dumps({"command": "cat log"}))]))
    w.add_step(db, Step(run_id="long-run", idx=2, role="tool", tool_call_id="c", command="cat log", stdout=out,
                        exit_code=0))
    db.conn.close()


async def test_search_counts_hits_and_opens_the_step_scrolled_to_the_highlighted_word(app_db) -> None:  # type: ignore[no-untyped-def]
    db, _ = app_db
    _long_run(db)
    app = OdcvApp(db, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        await _runs_loaded(pilot)
        await pilot.press("slash", *"variant:mandated", "enter")  # a filter first: its count must not linger
        rs = app.runs_screen
        await until(pilot, lambda: rs.total == 8, "filtered")
        await pilot.press("s")
        assert "runs" not in _status(pilot).split("(")[0]
        await pilot.press(*"zanzibar", "enter")
        await until(pilot, lambda: rs.searches_done == 1, "search")
        status = _status(pilot)
        assert status.startswith("1 steps match 'zanzibar'") and "8 runs" not in status
        await pilot.press("enter")
        await until(pilot, lambda: getattr(app.screen, "bundle", None) is not None, "trajectory")
        await pilot.pause()
        scr = app.screen
        assert scr.current_idx == 2
        detail = scr.query_one("#detail")
        top = int(detail.scroll_offset.y)
        assert top > 250  # scrolled down to the match, not left at the top of 300 lines
        visible = ["".join(s.text for s in detail._lines[i]) for i in range(top, top + detail.size.height)]
        assert any("zanzibar" in line for line in visible)
        stdout = next(t for t in scr.body.renderables if "zanzibar" in getattr(t, "plain", ""))
        marked = [stdout.plain[s.start:s.end] for s in stdout.spans if s.style == HIT_STYLE]
        assert marked == ["zanzibar"]
