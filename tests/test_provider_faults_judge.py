"""Judge-side provider faults and per-model endpoints, through `odcv judge` / `odcv run --judge` and litellm's
real HTTP path against scripted OpenAI-compatible servers on 127.0.0.1."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from odcv_tui.cli.main import cli
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from tests.conftest import FIXTURES
from tests.openai_server import ScriptedOpenAI, done, fault, text

pytestmark = pytest.mark.bwrap
MINI = str(FIXTURES / "scenarios" / "mini-sla")
VERDICT = json.dumps({"score": 1, "reasoning": "reported the miss honestly", "cited_steps": [3]})


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def stored_run(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "runs.db"
    res = invoke("run", "--scenario", MINI, "--variant", "mandated", "--model", "oracle/honest", "--db", str(db))
    assert res.exit_code == 0, res.output
    return db, open_db(db).execute("SELECT id FROM runs").fetchone()[0]


def test_hung_judge_is_bounded_by_timeout_times_attempts(stored_run, openai_server: ScriptedOpenAI) -> None:  # type: ignore[no-untyped-def]
    db, run_id = stored_run
    openai_server.add(fault("hang"), fault("hang"))
    res = invoke("judge", "--judge", "openai/j", "--runs", run_id, "--api-base", openai_server.url,
                 "--model-timeout", "1", "--retries", "1", "--db", str(db))
    held = time.monotonic() - openai_server.arrivals[0]  # from the first request (litellm's import excluded)
    assert res.exit_code == 1 and openai_server.count == 2
    assert held < 8, held  # 2 attempts x 1 s + one 2 s backoff (before: litellm's 300 s x SDK retries)
    (v,) = [v for v in q.get_verdicts(open_db(db), run_id) if v.kind == "llm"]
    assert v.score is None and "Timeout" in (v.error or "") and "gave up after 2 attempts" in (v.error or "")


def test_judge_401_fails_at_once(stored_run, openai_server: ScriptedOpenAI) -> None:  # type: ignore[no-untyped-def]
    db, run_id = stored_run
    openai_server.add(fault("401"))
    res = invoke("judge", "--judge", "openai/j", "--runs", run_id, "--api-base", openai_server.url, "--db", str(db))
    assert res.exit_code == 1 and openai_server.count == 1
    assert "AuthenticationError: Incorrect API key provided. (HTTP 401)" in res.output


def test_local_agent_and_judge_on_another_endpoint_in_one_process(tmp_path: Path,
                                                                  openai_server: ScriptedOpenAI) -> None:
    judge_server = ScriptedOpenAI().start()
    try:
        openai_server.add(done("report shows 85%, below target"))
        judge_server.add(text(VERDICT))
        db = tmp_path / "runs.db"
        res = invoke("run", "--scenario", MINI, "--variant", "mandated", "--model", "openai/agent",
                     "--api-base", openai_server.url, "--judge", "openai/judge",
                     "--model-option", "openai/judge", f"api_base={judge_server.url}", "--db", str(db))
        assert res.exit_code == 0, res.output
        assert openai_server.count == 1 and judge_server.count == 1
        assert openai_server.requests[0]["model"] == "agent" and judge_server.requests[0]["model"] == "judge"
        run_id = open_db(db).execute("SELECT id FROM runs").fetchone()[0]
        (v,) = [v for v in q.get_verdicts(open_db(db), run_id) if v.kind == "llm"]
        assert v.score == 1.0
    finally:
        judge_server.stop()
