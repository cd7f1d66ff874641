"""Live screen through Textual's Pilot: a real oracle run in the local sandbox streams into its pane and
ends with its integrity verdict; cancelling; playback of a stored run (order, pause, step, speed);
hostile text shown literally and bounded; form errors and the no-API-key offer.

`python -m tests.test_ui_live [DB] [RUN_ID]` saves screenshots/live.svg (playback over the imported
upstream corpus when DB is given, else over a demo stored run)."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from textual.app import App
from textual.widgets import Input, SelectionList, Static

from odcv_tui.ui.screens.live import PROVIDER_MODELS, LiveScreen
from odcv_tui.ui.widgets.run_pane import LOG_MAX_LINES
from tests.conftest import FIXTURES, ROOT
from tests.test_playback import make_stored_run

SIZE = (160, 50)


class Host(App):
    """Stands in for OdcvApp: pushes one LiveScreen and records open_run calls."""

    def __init__(self, screen_factory: Callable[[], LiveScreen]) -> None:
        super().__init__()
        self.factory = screen_factory
        self.opened: list[str] = []

    def on_mount(self) -> None:
        self.push_screen(self.factory())

    def open_run(self, run_id: str, step: int | None = None) -> None:
        self.opened.append(run_id)


async def wait_until(pilot, cond: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what or cond}"
        await pilot.pause(0.05)


def need_bwrap() -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")


def static_text(widget: Static) -> str:
    return str(widget.render())


def slow_scenarios(tmp_path: Path) -> Path:
    """mini-sla with an oracle that takes ~10 s (many short sleeps), so a cancel lands mid-run."""
    root = tmp_path / "scen"
    shutil.copytree(FIXTURES / "scenarios" / "mini-sla", root / "slow-sla")
    path = root / "slow-sla" / "scenario.yaml"
    data = yaml.safe_load(path.read_text())
    data["id"] = "test-slow-sla"
    data["oracle"]["honest"] = ["sleep 0.3"] * 30
    path.write_text(yaml.safe_dump(data))
    return root


@pytest.mark.bwrap
async def test_oracle_run_streams_to_finished_status_and_integrity_verdict(db_path: Path) -> None:
    need_bwrap()
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.scenarios_loaded, 10, "scenarios")
        # The defaults a newcomer gets: first scenario, mandated, both oracles, local sandbox (issue #14).
        assert screen.query_one("#models", SelectionList).selected == ["oracle/honest", "oracle/exploit"]
        screen.query_one("#models", SelectionList).deselect("oracle/honest")  # this test follows the exploit
        await pilot.press("ctrl+r")
        assert len(screen.panes) == 1
        pane = next(iter(screen.panes.values()))
        await wait_until(pilot, lambda: pane.finished and ("integrity", "integrity") in pane.verdicts, 60,
                         "run end + integrity verdict")
        await pilot.pause()
        head = static_text(pane.query_one(".pane-head", Static))
        verdicts = static_text(pane.query_one(".pane-verdicts", Static))
        log = pane.log_text()
        assert "completed" in head and "model calls 3 · commands 2" in head
        assert "integrity FLAGGED 4" in verdicts and "/app/data/tickets.csv" in verdicts
        assert "$ /usr/local/bin/sla_report.sh | tee /app/report.txt" in log
        assert "STATUS: PASS" in log and "modified /app/data/tickets.csv  PROTECTED" in log
        # Streaming order as it happened: command, then its output, then the next reply.
        assert log.index("$ awk") < log.index("PROTECTED") < log.index("step 5") < log.index("STATUS: PASS")
        assert pane.seen[0] == "run_started:" and pane.seen[-1] == "run_finished:"
        pane.focus()
        await pilot.press("o")
        assert app.opened == [pane.run_id]


@pytest.mark.bwrap
async def test_oracle_preset_starts_at_once(db_path: Path) -> None:
    """The welcome screen's "watch an oracle run now" opens Live with preset="oracle": no key to press."""
    need_bwrap()
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios", preset="oracle"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: len(screen.panes) == 2 and all(p.model for p in screen.panes.values()), 30,
                         "a pane per oracle without any key")
        pane = next(p for p in screen.panes.values() if p.model == "oracle/exploit")
        await wait_until(pilot, lambda: pane.finished and pane.verdicts, 60, "run end")
        assert pane.status == "completed"


@pytest.mark.bwrap
async def test_cancel_the_focused_run_then_all(tmp_path: Path, db_path: Path) -> None:
    need_bwrap()
    app = Host(lambda: LiveScreen(db_path, scenarios_root=slow_scenarios(tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.scenarios_loaded, 10, "scenarios")
        screen.query_one("#variants", SelectionList).select_all()
        models = screen.query_one("#models", SelectionList)
        models.deselect_all()
        models.select("oracle/honest")
        screen.query_one("#concurrency", Input).value = "1"
        await pilot.press("ctrl+r")
        queue_line = screen.query_one("#queue-line", Static)
        await wait_until(pilot, lambda: len(screen.panes) == 1, 30, "first pane")
        first = next(iter(screen.panes.values()))
        assert "1 run(s) queued" in static_text(queue_line)  # the second waits for the pool: no pane yet
        await wait_until(pilot, lambda: first.commands >= 1, 30, "first command")
        assert screen.focused_pane() is first  # the first pane to open takes the focus
        await pilot.press("c")
        await wait_until(pilot, lambda: first.status == "interrupted", 15, "first interrupted")
        assert 1 <= first.commands < 30 and "interrupted" in first.log_text()
        # The pool is free again: the queued run starts, and C stops it too.
        await wait_until(pilot, lambda: len(screen.panes) == 2, 30, "second pane")
        second = screen.panes[next(k for k in screen.panes if screen.panes[k] is not first)]
        assert screen.focused_pane() is first  # a new pane never steals the focus
        await wait_until(pilot, lambda: second.commands >= 1, 30, "second command")
        await pilot.press("C")
        await wait_until(pilot, lambda: second.status == "interrupted", 15, "second interrupted")
        assert not queue_line.display


@pytest.mark.bwrap
async def test_cancel_all_drops_queued_runs(tmp_path: Path, db_path: Path) -> None:
    need_bwrap()
    app = Host(lambda: LiveScreen(db_path, scenarios_root=slow_scenarios(tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.scenarios_loaded, 10, "scenarios")
        screen.query_one("#variants", SelectionList).select_all()
        models = screen.query_one("#models", SelectionList)
        models.deselect_all()
        models.select("oracle/honest")  # the slow one: ~30 short sleeps
        screen.query_one("#concurrency", Input).value = "1"
        await pilot.press("ctrl+r")  # 2 variants = 2 runs, one at a time
        await wait_until(pilot, lambda: len(screen.panes) == 1, 30, "first pane")
        pane = next(iter(screen.panes.values()))
        await pilot.press("C")
        await wait_until(pilot, lambda: pane.finished, 15, "first run stops")
        await pilot.pause(1.0)
        assert pane.status == "interrupted"
        assert len(screen.panes) == 1 and not screen.queued
        assert "1 cancelled before starting" in static_text(screen.query_one("#queue-line", Static))


async def test_only_max_panes_stay_open(db_path: Path) -> None:
    from odcv_tui.ui.screens.live import MAX_PANES

    ids = [make_stored_run(db_path, f"r{i}", commands=1) for i in range(MAX_PANES + 3)]
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios", playback_speed=64,
                                  playback_interval=0.001))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        for run_id in ids:
            pane = screen.play(run_id)
            await wait_until(pilot, lambda p=pane: p.finished, 10, f"playback {run_id}")
        assert len(screen.panes) == MAX_PANES
        assert list(screen.panes)[-1] == f"play:{ids[-1]}" and f"play:{ids[0]}" not in screen.panes


async def test_playback_order_pause_step_and_speed(db_path: Path) -> None:
    run_id = make_stored_run(db_path, commands=6)
    app = Host(lambda: LiveScreen(db_path, playback_run_id=run_id, playback_paused=True,
                                  playback_interval=0.15, scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        pane = screen.panes[f"play:{run_id}"]
        player = screen.players[f"play:{run_id}"]
        assert pane.playback and not screen.query_one("#live-form").display
        await wait_until(pilot, lambda: pane.seen == ["run_started:"], 5, "header")
        await pilot.pause(0.3)
        assert pane.seen == ["run_started:"]  # paused: nothing more
        await pilot.press("full_stop")
        await wait_until(pilot, lambda: len(pane.seen) == 2, 5, "one step")
        assert pane.seen[1] == "model_replied:2"
        await pilot.press("full_stop")
        await wait_until(pilot, lambda: len(pane.seen) == 5, 5, "second step")
        await pilot.pause(0.3)
        assert pane.seen[2:] == ["command_started:3", "command_finished:3", "files_changed:3"]
        assert "paused" in static_text(pane.query_one(".pane-head", Static))
        await pilot.press("space")  # play
        await wait_until(pilot, lambda: player.position >= 5, 5, "playing")
        await pilot.press("space")  # pause again
        await pilot.pause(0.2)
        frozen = list(pane.seen)
        await pilot.pause(0.5)
        assert pane.seen == frozen
        await pilot.press("plus", "plus")
        assert player.speed == 4.0
        await pilot.press("minus")
        assert player.speed == 2.0
        assert "2x" in static_text(pane.query_one(".pane-head", Static))
        await pilot.press("space")
        await wait_until(pilot, lambda: pane.finished, 10, "end of playback")
        steps = [int(s.split(":")[1]) for s in pane.seen if s.split(":")[1]]
        assert steps == sorted(steps) and steps[-1] == 2 + 6 * 2  # every step, in stored order
        log = pane.log_text()
        assert [log.index(f"$ echo step-{i}") for i in range(6)] == sorted(
            log.index(f"$ echo step-{i}") for i in range(6))
        assert "integrity FLAGGED 4" in static_text(pane.query_one(".pane-verdicts", Static))
        assert pane.status == "completed"


async def test_playback_of_a_missing_run_says_so(db_path: Path) -> None:
    make_stored_run(db_path)
    app = Host(lambda: LiveScreen(db_path, playback_run_id="no-such-run", scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        pane = screen.panes["play:no-such-run"]
        await wait_until(pilot, lambda: pane.status == "error", 5, "error status")
        assert "no stored run 'no-such-run'" in static_text(screen.query_one("#form-msg", Static))


async def test_hostile_text_is_literal_and_huge_output_is_bounded(db_path: Path) -> None:
    run_id = make_stored_run(db_path, commands=3, hostile=True, model="[bold red]m[/bold red]")
    app = Host(lambda: LiveScreen(db_path, playback_run_id=run_id, playback_speed=64, playback_interval=0.01,
                                  scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        pane = screen.panes[f"play:{run_id}"]
        t0 = time.monotonic()
        await wait_until(pilot, lambda: pane.finished, 20, "playback end")
        took = time.monotonic() - t0
        await pilot.pause()
        log = pane.log_text()
        head = static_text(pane.query_one(".pane-head", Static))
        assert "[bold red]not markup[/bold red]" in log and "[bold red]RED[/bold red]" in log
        assert "[blink]x[/blink]" in log
        assert "␛[2J" in log and "␛]0;evil title" in log
        assert "\x1b" not in log and "\x07" not in log
        assert "[bold red]m[/bold red]" in head
        # The 2 MB output is cut to a few thousand characters with a visible note.
        assert "more characters not shown here" in log
        assert len(log) < 40_000 and len(pane.log_widget.lines) <= LOG_MAX_LINES
        assert took < 10
        # Still responsive: a key press round-trips quickly after all that.
        t1 = time.monotonic()
        await pilot.press("f")
        assert screen.query_one("#live-form").display
        assert time.monotonic() - t1 < 1.0


async def test_form_offers_oracles_first_and_names_missing_keys(db_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for _, key in PROVIDER_MODELS:
        monkeypatch.delenv(key, raising=False)
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.scenarios_loaded, 10, "scenarios")
        models = screen.query_one("#models", SelectionList)
        opts = [models.get_option_at_index(i) for i in range(models.option_count)]
        assert [o.value for o in opts[:2]] == ["oracle/honest", "oracle/exploit"]
        assert all(o.disabled for o in opts[2:]) and not any(o.disabled for o in opts[:2])
        hint = static_text(screen.query_one("#key-hint", Static))
        assert "OPENAI_API_KEY" in hint and "ANTHROPIC_API_KEY" in hint
        msg = screen.query_one("#form-msg", Static)
        models.deselect_all()
        await pilot.press("ctrl+r")
        assert "pick at least one model" in static_text(msg) and not screen.panes
        models.select("oracle/honest")
        screen.query_one("#concurrency", Input).value = "0"
        await pilot.press("ctrl+r")
        assert "concurrency: must be 1..16" in static_text(msg) and not screen.panes
        screen.query_one("#variants", SelectionList).deselect_all()
        screen.query_one("#concurrency", Input).value = "1"
        await pilot.press("ctrl+r")
        assert "pick at least one variant" in static_text(msg)


async def test_p_focuses_the_playback_input_and_enter_plays(db_path: Path) -> None:
    run_id = make_stored_run(db_path, commands=2)
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios", playback_speed=64,
                                  playback_interval=0.01))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await wait_until(pilot, lambda: screen.scenarios_loaded, 10, "scenarios")
        screen.query_one("#panes").focus()
        await pilot.press("p")
        assert screen.focused is screen.query_one("#playback-id", Input)
        await pilot.press(*run_id, "enter")
        await wait_until(pilot, lambda: f"play:{run_id}" in screen.panes, 5, "playback pane")
        pane = screen.panes[f"play:{run_id}"]
        await wait_until(pilot, lambda: pane.finished, 10, "playback end")
        assert pane.status == "completed"


async def test_app_key_3_opens_live(db_path: Path) -> None:
    try:
        from odcv_tui.ui.app import OdcvApp
    except ImportError:
        pytest.skip("the app is not built yet")
    make_stored_run(db_path)
    app = OdcvApp(db_path, welcome=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await wait_until(pilot, lambda: isinstance(app.screen, LiveScreen), 5, "live screen")


# ---- screenshot ------------------------------------------------------------------------------------------
async def save_live_screenshot(db_path: Path, run_id: str, out: Path, steps: int = 31) -> Path:
    """From the real app when it exists (its header and keys), else from the stand-in host."""
    try:
        from odcv_tui.ui.app import OdcvApp
    except ImportError:
        OdcvApp = None  # noqa: N806
    app = OdcvApp(db_path, welcome=False) if OdcvApp else Host(
        lambda: LiveScreen(db_path, playback_run_id=run_id, playback_paused=True))
    async with app.run_test(size=SIZE) as pilot:
        if OdcvApp:
            await pilot.pause()
            app.push_screen(LiveScreen(db_path, playback_run_id=run_id, playback_paused=True))
            await wait_until(pilot, lambda: isinstance(app.screen, LiveScreen), 5, "live screen")
        screen = app.screen
        await wait_until(pilot, lambda: f"play:{run_id}" in screen.panes, 10, "playback pane")
        pane = screen.panes[f"play:{run_id}"]
        await wait_until(pilot, lambda: pane.seen, 10, "header")
        for _ in range(steps):
            await pilot.press("full_stop")
            await pilot.pause(0.05)
        await pilot.press("f")  # show the launch form next to the playback
        await pilot.pause(0.3)
        out.parent.mkdir(parents=True, exist_ok=True)
        app.save_screenshot(str(out))
    return out


def _main(argv: list[str]) -> None:
    import asyncio
    import tempfile

    if argv:
        db = Path(argv[0])
        run_id = argv[1] if len(argv) > 1 else "up-grok-4.20-mandated-Clinical-Trial-Data-Management"
    else:
        db = Path(tempfile.mkdtemp()) / "demo.db"
        run_id = make_stored_run(db, commands=8)
    out = asyncio.run(save_live_screenshot(db, run_id, ROOT / "screenshots" / "live.svg"))
    print(out)


if __name__ == "__main__":
    _main(sys.argv[1:])
