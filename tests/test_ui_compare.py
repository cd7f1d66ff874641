"""Compare screen: aligned steps across models on a real SQLite DB built with storage.writes (and over
the imported upstream corpus when present), driven with Textual's Pilot.

`python3 -m tests.test_ui_compare DB OUT.svg` saves the screenshot used in the README.
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
from pathlib import Path

import pytest
from textual.app import App

from odcv_tui.core.types import RunRecord, Step, ToolCall, Verdict
from odcv_tui.storage import open_db
from odcv_tui.storage.writes import add_step, add_verdict, insert_run, upsert_scenario_stub
from odcv_tui.ui import compare_data as cd
from odcv_tui.ui.screens.compare import CompareScreen
from tests.conftest import UPSTREAM

EVIL = "[bold red]pwned[/] \x1b[2J\x1b]0;title\x07"
HUGE = "x" * 2_000_000


def _run(db, run_id: str, model: str, variant: str, scenario: str, commands: list[tuple[str, str]],
         scores: dict[str, float], *, integrity: float | None = None, self_score: float | None = None,
         final: str = "done") -> None:
    insert_run(db, RunRecord(id=run_id, scenario_id=scenario, variant=variant, model=model,
                             status="completed", started=f"2025-01-01T00:00:{len(run_id) % 60:02d}"))
    idx = 0

    def put(**kw) -> None:
        nonlocal idx
        add_step(db, Step(run_id=run_id, idx=idx, **kw))
        idx += 1

    put(role="system", content="sys")
    put(role="user", content="task")
    for i, (cmd, out) in enumerate(commands):
        call = ToolCall(id=f"c{i}", name="bash", arguments=json.dumps({"command": cmd}))
        put(role="assistant", reasoning=f"thinking {i}", tool_calls=[call], command=cmd)
        put(role="tool", tool_call_id=f"c{i}", command=cmd, stdout=out, stderr="", exit_code=i % 2)
    done = ToolCall(id="tc", name="task_complete", arguments=json.dumps({"reason": final}))
    put(role="assistant", tool_calls=[done])
    put(role="tool", tool_call_id="tc", content='{"action": "task_complete"}')
    for judge, score in scores.items():
        add_verdict(db, Verdict(run_id=run_id, judge=judge, kind="imported", score=score))
    if integrity is not None:
        add_verdict(db, Verdict(run_id=run_id, judge="integrity", kind="integrity", score=integrity))
    if self_score is not None:
        add_verdict(db, Verdict(run_id=run_id, judge="self", kind="self", score=self_score))


@pytest.fixture
def small_db(db_path: Path) -> Path:
    db = open_db(db_path)
    for sid in ("scen-a", "scen-b"):
        upsert_scenario_stub(db, sid, domain="test")
    _run(db, "a-inc", "alpha", "incentivized", "scen-a", [("ls", "f1"), ("cat f1", "hello"), ("sed -i x f1", "")],
         {"j1": 4, "j2": 3, "j3": 5}, integrity=1, self_score=1, final="KPI met")
    _run(db, "a-man", "alpha", "mandated", "scen-a", [("ls", "f1")], {"j1": 0, "j2": 0}, final="honest miss")
    _run(db, "b-inc", "beta", "incentivized", "scen-a", [("ls", "f1"), (f"echo '{EVIL}'", EVIL + "\n" + HUGE)],
         {"j1": 1, "j2": 0}, integrity=0)
    _run(db, "c-inc", "gamma", "incentivized", "scen-a", [("pwd", "/app")] * 5, {"j1": 2})
    _run(db, "d-inc", "alpha", "incentivized", "scen-b", [("whoami", "root")], {"j1": 0})
    db.conn.close()
    return db_path


class Host(App):
    """Stands in for OdcvApp: pushes the screen and records open_run calls."""

    def __init__(self, screen_factory) -> None:
        super().__init__()
        self.factory = screen_factory
        self.opened: list[tuple[str, int | None]] = []

    def on_mount(self) -> None:
        self.push_screen(self.factory())

    def open_run(self, run_id: str, step: int | None = None) -> None:
        self.opened.append((run_id, step))


async def settle(pilot, screen: CompareScreen, timeout: float = 10.0) -> float:
    start = time.perf_counter()
    await pilot.pause()
    while not screen.loading_done:
        assert time.perf_counter() - start < timeout, "compare did not load"
        await pilot.pause(0.01)
    await pilot.pause()
    return time.perf_counter() - start


def screen_text(app: App) -> str:
    svg = app.export_screenshot()
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


# ---- headless ------------------------------------------------------------------------------------

def test_align_commands_pairs_calls_with_results(small_db: Path) -> None:
    db = open_db(small_db)
    cols = cd.load_models(db, "scen-a", "incentivized", ["alpha", "beta", "gamma", "nobody"])
    assert [c.model for c in cols] == ["alpha", "beta", "gamma"]  # a model without a run is skipped
    alpha = cols[0]
    assert [c.command for c in alpha.commands] == ["ls", "cat f1", "sed -i x f1"]
    assert [c.k for c in alpha.commands] == [0, 1, 2]
    assert alpha.commands[1].stdout == "hello" and alpha.commands[1].exit_code == 1
    assert alpha.commands[1].step_idx == 5  # the tool row, so open_run lands on the output
    assert alpha.commands[0].reasoning == "thinking 0"
    assert alpha.final == "KPI met"
    v = alpha.verdicts
    assert v.median == 4 and v.misaligned and v.integrity is True and v.self_score == 1
    assert sorted(v.judges) == [("j1", 4), ("j2", 3), ("j3", 5)]
    assert cols[1].verdicts.integrity is False and cols[2].verdicts.integrity is None
    assert cd.row_count(cols) == 5


def test_align_handles_unanswered_and_orphan_tool_rows() -> None:
    steps = [
        Step(run_id="r", idx=0, role="assistant", tool_calls=[
            ToolCall(id="a", name="bash", arguments='{"command": "one"}'),
            ToolCall(id="b", name="bash", arguments="not json")]),
        Step(run_id="r", idx=1, role="tool", tool_call_id="a", command="one", stdout="1"),
        Step(run_id="r", idx=2, role="tool", command="orphan", stdout="o"),  # no call recorded (e.g. inspect)
        Step(run_id="r", idx=3, role="assistant", content="I could not finish."),
    ]
    cmds, final = cd.align_commands(steps)
    assert [(c.command, c.ran) for c in cmds] == [("one", True), ("not json", False), ("orphan", True)]
    assert final == "I could not finish."


def test_reasoning_placeholders_and_caps() -> None:
    blob = "[{'type': 'reasoning.encrypted', 'data': '" + "A" * 5000 + "'}]"
    steps = [
        Step(run_id="r", idx=0, role="assistant", content="None", reasoning=blob,
             tool_calls=[ToolCall(id="a", name="bash", arguments='{"command": "ls"}')]),
        Step(run_id="r", idx=1, role="assistant", content="None", reasoning="w" * 5000,
             tool_calls=[ToolCall(id="b", name="bash", arguments='{"command": "pwd"}')]),
    ]
    cmds, _ = cd.align_commands(steps)
    assert cmds[0].reasoning == "(encrypted reasoning)"
    col = cd.Column("r", "m", "incentivized", "s", "completed", cd.VerdictSummary(), cmds)
    cell = cd.command_cell(col, 1, False).plain
    assert "w" * 400 in cell and "w" * 401 not in cell and "4,600 more characters" in cell


def test_cells_render_untrusted_text_literally() -> None:
    col = cd.Column("r", "[b]m[/b]", "incentivized", "s", "completed", cd.VerdictSummary(),
                    [cd.CommandStep(0, 1, EVIL, stdout=EVIL, stderr=HUGE)], final=EVIL)
    header, cell, end = cd.verdict_header(col), cd.command_cell(col, 0, False), cd.command_cell(col, 1, False)
    for t in (header, cell, end):
        assert "\x1b" not in t.plain and "\x07" not in t.plain
    assert "[b]m[/b]" in header.plain
    assert "[bold red]pwned[/]" in cell.plain and "␛[2J" in cell.plain
    assert len(cell.plain) < 20_000 and "more characters" in cell.plain  # 2 MB capped until expanded
    assert len(cd.command_cell(col, 0, True).plain) < 50_000  # expanded still goes through safe.literal's cap


# ---- Pilot ---------------------------------------------------------------------------------------

async def test_columns_sync_and_focus(small_db: Path) -> None:
    app = Host(lambda: CompareScreen(small_db, "scen-a", "incentivized"))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        assert isinstance(scr, CompareScreen)
        await settle(pilot, scr)
        assert [c.col.model for c in scr.columns] == ["alpha", "beta", "gamma"]
        assert all(c.cursor == 0 for c in scr.columns)
        await pilot.press("l", "l")
        assert [c.cursor for c in scr.columns] == [2, 2, 2]
        await pilot.press("h")
        assert [c.cursor for c in scr.columns] == [1, 1, 1]
        await pilot.press("dollar_sign")
        assert [c.cursor for c in scr.columns] == [5, 5, 5]  # the end row after the longest run
        await pilot.press("0", "s", "tab", "l", "l")
        assert not scr.sync and scr.focus_index == 1
        assert [c.cursor for c in scr.columns] == [0, 2, 0]
        assert scr.columns[1].has_class("-focused") and not scr.columns[0].has_class("-focused")
        await pilot.press("shift+tab", "shift+tab")
        assert scr.focus_index == 2  # wraps around
        await pilot.press("s", "l")
        assert [c.cursor for c in scr.columns] == [1, 1, 1]  # synced again: all follow the focused column


async def test_j_k_scroll_every_column_when_synced(small_db: Path) -> None:
    app = Host(lambda: CompareScreen(small_db, "scen-a", "incentivized", models=["alpha", "gamma"]))
    async with app.run_test(size=(120, 16)) as pilot:  # short, so the columns overflow and can scroll
        scr = app.screen
        await settle(pilot, scr)
        bodies = [c.body for c in scr.columns]
        assert all(b.max_scroll_y > 0 for b in bodies)
        await pilot.press("j", "j")
        await pilot.pause()
        assert all(b.scroll_y == 6 for b in bodies)
        await pilot.press("s", "k")
        await pilot.pause()
        assert [b.scroll_y for b in bodies] == [3, 6]


async def test_plus_minus_pair_variant_scenario(small_db: Path) -> None:
    app = Host(lambda: CompareScreen(small_db, "scen-a", "incentivized", models=["alpha"]))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        assert [c.col.model for c in scr.columns] == ["alpha"]
        await pilot.press("plus", "enter")  # + lists the models not shown; enter adds the highlighted one
        await settle(pilot, scr)
        await pilot.press("plus", "enter")
        await settle(pilot, scr)
        assert [c.col.model for c in scr.columns] == ["alpha", "beta", "gamma"]
        await pilot.press("plus")  # nothing left to add
        await pilot.pause()
        assert len(scr.columns) == 3
        await pilot.press("minus")
        await settle(pilot, scr)
        assert [c.col.model for c in scr.columns] == ["alpha", "beta"]
        await pilot.press("m")  # focused column is alpha: its two variants side by side
        await settle(pilot, scr)
        assert [(c.col.model, c.col.variant) for c in scr.columns] == [("alpha", "mandated"),
                                                                       ("alpha", "incentivized")]
        assert "mandated vs incentivized" in screen_text(app)
        await pilot.press("m")
        await settle(pilot, scr)
        assert [c.col.model for c in scr.columns] == ["alpha", "beta"]
        await pilot.press("v")
        await settle(pilot, scr)
        assert scr.variant == "mandated" and [c.col.run_id for c in scr.columns] == ["a-man"]
        await pilot.press("v", )
        await settle(pilot, scr)
        await pilot.press("n")
        await settle(pilot, scr)
        assert scr.scenario_id == "scen-b" and [c.col.run_id for c in scr.columns] == ["d-inc"]
        await pilot.press("p")
        await settle(pilot, scr)
        assert scr.scenario_id == "scen-a"


async def test_many_columns_scroll_sideways_and_click_moves(small_db: Path) -> None:
    db = open_db(small_db)
    for i in range(4):  # 7 models: more than fit at 160 columns
        _run(db, f"x{i}", f"extra-{i}", "incentivized", "scen-a", [("ls", "f")], {"j1": 0})
    db.conn.close()
    app = Host(lambda: CompareScreen(small_db, "scen-a", "incentivized"))
    async with app.run_test(size=(160, 40)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        assert len(scr.columns) == 4
        for _ in range(3):
            await pilot.press("plus", "enter")
            await settle(pilot, scr)
        assert len(scr.columns) == 7
        box = scr.query_one("#cmp-cols")
        assert box.max_scroll_x > 0 and box.scroll_x == 0
        await pilot.press("left_square_bracket")  # focus wraps to the last column, which scrolls into view
        await pilot.pause()
        assert scr.focus_index == 6 and box.scroll_x > 0
        await pilot.press("0")
        col = scr.columns[6]
        y = col.body.offsets[1] + 1 - int(col.body.scroll_offset.y)  # a line inside that column's 2nd cell
        assert await pilot.click(col.body, offset=(5, y))
        await pilot.pause()
        assert scr.focus_index == 6 and all(c.cursor == 1 for c in scr.columns)


async def test_open_focused_run_at_cursor_step(small_db: Path) -> None:
    app = Host(lambda: CompareScreen(small_db, "scen-a", "incentivized"))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        await pilot.press("l", "o")
        assert app.opened == [("a-inc", 5)]
        await pilot.press("tab", "dollar_sign", "enter")
        assert app.opened[-1] == ("b-inc", None)  # the end row opens the run at its start


async def test_untrusted_and_huge_output_stay_literal_and_responsive(small_db: Path) -> None:
    app = Host(lambda: CompareScreen(small_db, "scen-a", "incentivized", models=["beta"]))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        assert await settle(pilot, scr) < 5.0
        await pilot.press("l")
        await pilot.pause()
        text = screen_text(app)
        assert "[bold red]pwned[/]" in text and "␛[2J" in text
        start = time.perf_counter()
        await pilot.press("e")  # expand: the 2 MB output is re-rendered, still capped
        await pilot.pause()
        await pilot.press("h", "l")
        assert time.perf_counter() - start < 3.0
        assert scr.expanded and scr.columns[0].cursor == 1
        assert "\x1b" not in text


async def test_real_app_keys_2_and_o_and_4(small_db: Path) -> None:
    """Through OdcvApp: 2 opens Compare on the selected run's scenario, o opens the focused run, 4 Stats."""
    from odcv_tui.ui.app import OdcvApp
    from odcv_tui.ui.screens.stats import StatsScreen
    from odcv_tui.ui.screens.trajectory import TrajectoryScreen

    app = OdcvApp(small_db, welcome=False)
    async with app.run_test(size=(160, 50)) as pilot:
        rs = app.runs_screen
        for _ in range(200):
            if rs is not None and rs.total == 6 and rs.current_run_id():
                break
            await pilot.pause(0.02)
        selected = rs.current_run_id()
        await pilot.press("2")
        scr = app.screen
        assert isinstance(scr, CompareScreen)
        await settle(pilot, scr)
        db = open_db(small_db)
        sid, variant = db.execute("SELECT scenario_id, variant FROM runs WHERE id=?", [selected]).fetchone()
        assert (scr.scenario_id, scr.variant) == (sid, variant)
        await pilot.press("l", "o")
        assert isinstance(app.screen, TrajectoryScreen)
        assert app.screen.run_id == scr.columns[0].col.run_id
        await pilot.press("4")
        assert isinstance(app.screen, StatsScreen)


async def test_empty_and_broken_databases(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    open_db(empty).conn.close()
    app = Host(lambda: CompareScreen(empty))
    async with app.run_test(size=(120, 30)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        assert scr.columns == [] and "No runs in this database yet" in screen_text(app)
        await pilot.press("l", "plus", "m", "o", "n")  # no columns: every key is a no-op, no crash
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    app = Host(lambda: CompareScreen(bad))
    async with app.run_test(size=(120, 30)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        assert scr.error and str(bad) in scr.error and "\n" not in scr.error


# ---- over the real upstream corpus ---------------------------------------------------------------

_UPSTREAM_CACHE: list[Path] = []


@pytest.fixture(scope="session")
def upstream_db(tmp_path_factory) -> Path:
    """The real corpus imported once per session (test_ui_stats imports this fixture; the module-level
    cache makes the two modules share one import, since each import of a fixture registers its own)."""
    if not UPSTREAM.is_dir():
        pytest.skip("upstream corpus not present")
    if _UPSTREAM_CACHE and _UPSTREAM_CACHE[0].exists():
        return _UPSTREAM_CACHE[0]
    from odcv_tui.importers.upstream import import_upstream

    path = tmp_path_factory.mktemp("up") / "up.db"
    db = open_db(path)
    import_upstream(db, UPSTREAM)
    db.conn.close()
    _UPSTREAM_CACHE.append(path)  # only once complete, so a failed import is never reused
    return path


@pytest.mark.upstream
async def test_compare_four_upstream_models(upstream_db: Path, tmp_path: Path) -> None:
    db = open_db(upstream_db)
    models = cd.list_models(db, "Healthcare-Management", "mandated")
    assert len(models) >= 4
    want = {m: db.execute("SELECT judge_median FROM runs WHERE model=? AND variant='mandated' AND "
                          "scenario_id='Healthcare-Management'", [m]).fetchone()[0] for m in models[:4]}
    app = Host(lambda: CompareScreen(upstream_db, "Healthcare-Management", "mandated"))
    async with app.run_test(size=(160, 50)) as pilot:
        scr = app.screen
        await settle(pilot, scr)
        assert {c.col.model: c.col.verdicts.median for c in scr.columns} == want
        assert all(c.col.commands for c in scr.columns)
        await pilot.press("l", "l", "l")
        k = scr.columns[0].cursor
        for c in scr.columns:
            if k < len(c.col.commands):
                assert c.col.commands[k].k == k
        await pilot.press("m")
        await settle(pilot, scr)
        assert {c.col.variant for c in scr.columns} == {"mandated", "incentivized"}
    out = tmp_path / "compare.svg"
    await take_screenshot(upstream_db, out)
    assert out.stat().st_size > 10_000 and "Healthcare-Management" in out.read_text()


async def take_screenshot(db_path: Path, out: Path, scenario: str = "Healthcare-Management") -> None:
    """SVG of Compare over 4 upstream models, stepped a few commands in (where they start to differ)."""
    app = Host(lambda: CompareScreen(db_path, scenario, "incentivized"))
    async with app.run_test(size=(160, 50)) as pilot:
        await settle(pilot, app.screen)
        await pilot.press("l", "l")
        await pilot.pause(0.2)
        out.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(out.name, str(out.parent))


if __name__ == "__main__":
    import asyncio

    asyncio.run(take_screenshot(Path(sys.argv[1]), Path(sys.argv[2] if len(sys.argv) > 2 else "screenshots/compare.svg")))
