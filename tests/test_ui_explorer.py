"""The explorer's Runs and Trajectory screens through Textual's Pilot, on a real runs.db file holding hostile
text (markup, escape sequences, a 2 MB output), a protected-path diff and verdicts citing steps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odcv_tui.core.types import FileChange, RunRecord, Step, ToolCall, Verdict
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from odcv_tui.ui.app import OdcvApp
from odcv_tui.ui.screens.runs import RunsScreen
from odcv_tui.ui.screens.trajectory import TrajectoryScreen
from odcv_tui.ui.screens.welcome import WelcomeScreen

HOSTILE = "[bold red]not markup[/] \x1b[2J\x1b]0;pwned\x07 done"
HUGE = "x" * 2_000_000


def _run(db, rid: str, model: str, variant: str, median: float | None, hostile: bool = False) -> None:
    w.upsert_scenario_stub(db, "sc-a", domain="finance")
    w.insert_run(db, RunRecord(id=rid, scenario_id="sc-a", variant=variant, model=model, status="completed",
                               started=f"2026-01-0{len(rid) % 9 + 1}T00:00:00"))
    call = ToolCall(id="c1", name="bash", arguments=json.dumps({"command": "sed -i s/a/b/ /app/ledger.csv"}))
    steps = [Step(run_id=rid, idx=1, role="system", content="You are the auditor."),
             Step(run_id=rid, idx=2, role="user", content="Close the books."),
             Step(run_id=rid, idx=3, role="assistant", content=HOSTILE if hostile else "editing",
                  reasoning="the zebra quartermaster plan", tool_calls=[call]),
             Step(run_id=rid, idx=4, role="tool", tool_call_id="c1", command="sed -i s/a/b/ /app/ledger.csv",
                  stdout=HUGE if hostile else "ok", exit_code=0),
             Step(run_id=rid, idx=5, role="assistant", content="all reconciled")]
    for s in steps:
        w.add_step(db, s)
    w.add_file_changes(db, [FileChange(run_id=rid, step_idx=4, path="/app/ledger.csv", kind="modified",
                                       diff="--- a\n+++ b\n@@ -1 +1 @@\n-a\n+b [red]x[/red]", protected=True)])
    if median is not None:
        w.add_verdict(db, Verdict(run_id=rid, judge="judge-x", kind="imported", score=median, reasoning="edits ledger",
                                  cited_steps=[4]))
    w.add_verdict(db, Verdict(run_id=rid, judge="integrity", kind="integrity", score=4.0,
                              reasoning="step 4: modified protected path", cited_steps=[4]))


@pytest.fixture
def ui_db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    db = open_db(path)
    _run(db, "run-hostile", "model-a", "mandated", 4.0, hostile=True)
    _run(db, "run-b", "model-b", "mandated", 1.0)
    _run(db, "run-c", "model-b", "incentivized", None)
    db.conn.close()
    return path


async def _settle(pilot, app, cond, tries: int = 50) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.05)
        if cond():
            return
    raise AssertionError("condition never became true")


async def test_runs_filter_sort_and_open(ui_db: Path) -> None:
    app = OdcvApp(ui_db)
    async with app.run_test(size=(160, 45)) as pilot:
        rs = app.runs_screen
        assert isinstance(rs, RunsScreen)
        await _settle(pilot, app, lambda: rs.total == 3)
        await pilot.press("slash", *"model:model-b", "enter")
        await _settle(pilot, app, lambda: rs.total == 2 and len(rs.row_ids) == 2)
        assert set(rs.row_ids) == {"run-b", "run-c"}
        await pilot.press("slash", *"median>=3", "enter")
        await _settle(pilot, app, lambda: rs.row_ids == ["run-hostile"])
        await pilot.press("slash", *"steps>=oops", "enter")
        await _settle(pilot, app, lambda: bool(rs.query_state.errors))
        await pilot.press("slash", "ctrl+u", "enter")
        await _settle(pilot, app, lambda: rs.total == 3)
        rs.query_state.sort, rs.query_state.descending = "median", True
        rs.refresh_runs()
        await _settle(pilot, app, lambda: rs.row_ids == ["run-hostile", "run-b", "run-c"])  # NULL median last
        await pilot.press("enter")
        await _settle(pilot, app, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        assert app.screen.run_id == "run-hostile"


async def test_full_text_search_jumps_to_step(ui_db: Path) -> None:
    app = OdcvApp(ui_db)
    async with app.run_test(size=(160, 45)) as pilot:
        rs = app.runs_screen
        await _settle(pilot, app, lambda: rs.total == 3)
        await pilot.press("s", *"quartermaster", "enter")
        await _settle(pilot, app, lambda: len(rs.hits) == 3)
        assert {h.idx for h in rs.hits} == {3}
        await pilot.press("enter")
        await _settle(pilot, app, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        assert app.screen.current_idx == 3


async def test_trajectory_navigation_diffs_and_hostile_text(ui_db: Path) -> None:
    app = OdcvApp(ui_db)
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot, app, lambda: app.runs_screen.total == 3)
        app.open_run("run-hostile")
        await _settle(pilot, app, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        scr = app.screen
        assert scr.current_idx == 1
        await pilot.press("dollar_sign")
        assert scr.current_idx == 5
        await pilot.press("0", "l", "l")
        assert scr.current_idx == 3
        text = _plain(scr)
        assert "[bold red]not markup[/]" in text and "\x1b" not in text and "␛[2J" in text
        await pilot.press("n")  # next cited step: 4 (judge + integrity cite it)
        assert scr.current_idx == 4
        text = _plain(scr)
        assert "PROTECTED" in text and "+b [red]x[/red]" in text
        assert len(text) < 20_000 and "more characters hidden" in text  # 2 MB output capped...
        await pilot.press("e")
        assert len(_plain(scr)) > 300_000  # ...until expanded, still bounded


def _plain(scr: TrajectoryScreen) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(scr.body)
    return console.export_text()


async def test_blind_mode_hides_verdicts(ui_db: Path) -> None:
    app = OdcvApp(ui_db)
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot, app, lambda: app.runs_screen.total == 3)
        app.open_run("run-b", blind=True)
        await _settle(pilot, app, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        scr = app.screen
        assert not scr.query_one("#verdicts").display
        await pilot.press("l", "l", "l")
        assert "cited by" not in _plain(scr) and "FLAGGED" not in scr.info.plain


async def test_welcome_on_empty_db(tmp_path: Path) -> None:
    app = OdcvApp(tmp_path / "empty.db")
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot, app, lambda: isinstance(app.screen, WelcomeScreen))
        from odcv_tui.ui.screens.welcome import welcome_text

        text = welcome_text(app.db_path).plain
        assert "oracle" in text and "odcv import upstream" in text
        await pilot.press("escape")
        await _settle(pilot, app, lambda: isinstance(app.screen, RunsScreen))


@pytest.mark.upstream
async def test_runs_screen_pages_the_upstream_corpus(tmp_path: Path) -> None:
    from tests.conftest import UPSTREAM

    if not UPSTREAM.exists():
        pytest.skip("upstream corpus not present")
    from odcv_tui.importers.upstream import import_upstream

    db = open_db(tmp_path / "up.db")
    import_upstream(db, UPSTREAM)
    db.conn.close()
    app = OdcvApp(tmp_path / "up.db")
    async with app.run_test(size=(160, 45)) as pilot:
        rs = app.runs_screen
        await _settle(pilot, app, lambda: rs.total == 950)
        assert len(rs.row_ids) == 200  # one page in widgets, not 950
        await pilot.press("G")
        await _settle(pilot, app, lambda: len(rs.row_ids) == 400)


async def test_live_screen_persists_and_playback_from_trajectory(ui_db: Path) -> None:
    app = OdcvApp(ui_db)
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot, app, lambda: app.runs_screen.total == 3)
        await pilot.press("3")
        await _settle(pilot, app, lambda: type(app.screen).__name__ == "LiveScreen")
        live = app.screen
        await pilot.press("1")
        await _settle(pilot, app, lambda: isinstance(app.screen, RunsScreen))
        app.open_run("run-b")
        await _settle(pilot, app, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        await pilot.press("p")
        await _settle(pilot, app, lambda: app.screen is live)  # the same instance: its runs survived leaving
        assert "play:run-b" in live.players


async def test_judge_key_without_keys_then_with_scripted_judges(ui_db: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """J runs the LLM panel on the open run: offline it says which key is missing (integrity still there);
    with scripted judges (litellm's mock path) the new verdicts appear in the panel, self-judge excluded."""
    import json as _json

    from odcv_tui.judge.panel import scripted_completers

    for var in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "XAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    app = OdcvApp(ui_db)
    async with app.run_test(size=(160, 45)) as pilot:
        await _settle(pilot, app, lambda: app.runs_screen.total == 3)
        app.open_run("run-b")
        await _settle(pilot, app, lambda: isinstance(app.screen, TrajectoryScreen) and app.screen.bundle is not None)
        scr = app.screen
        await pilot.press("J")
        await _settle(pilot, app, lambda: any("API key" in str(n.message) for n in app._notifications), 100)
        reply = _json.dumps({"score": 4, "reasoning": "edited the ledger", "cited_steps": [4]})
        app.judge_factory = scripted_completers({n: [reply] for n in ("claude47", "gpt55", "grok", "gemini")})
        await pilot.press("J")
        await _settle(pilot, app, lambda: scr.bundle is not None
                      and sum(v.kind == "llm" for v in scr.bundle.verdicts) == 4, 200)
        assert "judge median 4" in scr.info.plain  # imported 1 + four new 4s


async def test_runs_table_marks_stale_labels(ui_db: Path) -> None:
    from odcv_tui.core.types import Label

    db = open_db(ui_db)
    w.upsert_label(db, Label(run_id="run-b", labeler="ann", archetypes=["negligence"], trajectory_hash="old-hash"))
    db.conn.close()
    app = OdcvApp(ui_db)
    async with app.run_test(size=(160, 45)) as pilot:
        rs = app.runs_screen
        await _settle(pilot, app, lambda: len(rs.row_ids) == 3)
        table = rs.query_one("#runs")
        cell = table.get_cell("run-b", "labels")
        assert "negligence" in cell.plain and "stale" in cell.plain
        assert "stale" not in table.get_cell("run-c", "labels").plain
