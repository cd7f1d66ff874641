"""The Live screen with a provider model on a self-hosted endpoint (the scripted OpenAI-compatible server):
the launch form's endpoint fields reach the run, the pane says what it is doing before the first reply,
shows the system and user prompts as the first steps, and counts provider retries; `c` during a hung
request ends the run `interrupted` within 2 s. A missing key variable is named in the form, before any run."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from textual.widgets import Input, SelectionList, Static

from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.ui.screens.live import LiveScreen
from tests.conftest import FIXTURES
from tests.openai_server import ScriptedOpenAI, done, fault
from tests.test_ui_live import SIZE, Host, need_bwrap, static_text, wait_until

pytestmark = pytest.mark.bwrap


async def _launch(pilot, screen, server_url: str, **fields: str) -> None:  # type: ignore[no-untyped-def]
    await wait_until(pilot, lambda: screen.scenarios_loaded, 10, "scenarios")
    screen.query_one("#models", SelectionList).deselect_all()
    screen.query_one("#custom-model", Input).value = "openai/local-m"
    screen.query_one("#api-base", Input).value = server_url
    for name, value in fields.items():
        screen.query_one(f"#{name}", Input).value = value
    await pilot.press("ctrl+r")


async def test_live_pane_shows_loading_prompts_and_retries(db_path: Path, openai_server: ScriptedOpenAI) -> None:
    need_bwrap()
    openai_server.add(fault("429", retry_after=0.2), done("below target, reported"))
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await _launch(pilot, screen, openai_server.url, temperature="0.2", **{"model-args": "seed=7"})
        await wait_until(pilot, lambda: len(screen.panes) == 1, 30, "pane")
        pane = next(iter(screen.panes.values()))
        await wait_until(pilot, lambda: pane.finished, 90, "run end")
        await pilot.pause()
        log = pane.log_text()
        assert pane.status == "completed"
        assert "loading the model stack" in log and "starting the local sandbox" in log
        assert "waiting for the model" in log
        assert log.index("step 1 · system") < log.index("step 2 · user") < log.index("model reply 1")
        assert "Use the bash tool to complete the task" in log  # the system prompt as the model got it
        assert "RateLimitError" in log and "attempt 2/4" in log
        assert openai_server.requests[-1]["temperature"] == 0.2 and openai_server.requests[-1]["seed"] == 7
        run = q.get_run(open_db(db_path), pane.run_id)
        assert run is not None and run.protocol == "upstream/1"
        assert json.loads(run.provenance or "{}")["model"]["temperature"] == 0.2


async def test_c_cancels_a_hung_request_within_2s(db_path: Path, openai_server: ScriptedOpenAI) -> None:
    need_bwrap()
    openai_server.add(fault("hang"))
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await _launch(pilot, screen, openai_server.url)
        await wait_until(pilot, lambda: len(screen.panes) == 1 and openai_server.count == 1, 90, "hung request")
        pane = next(iter(screen.panes.values()))
        pane.focus()
        t0 = time.monotonic()
        await pilot.press("c")
        await wait_until(pilot, lambda: pane.finished, 5, "cancel")
        assert time.monotonic() - t0 < 2.0 and pane.status == "interrupted"


async def test_missing_key_variable_is_named_in_the_form(db_path: Path, openai_server: ScriptedOpenAI,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ODCV_TEST_ABSENT_KEY", raising=False)
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        await _launch(pilot, screen, openai_server.url, **{"api-key-env": "ODCV_TEST_ABSENT_KEY"})
        await pilot.pause()
        assert "ODCV_TEST_ABSENT_KEY is not set" in static_text(screen.query_one("#form-msg", Static))
        assert not screen.panes and openai_server.count == 0
