"""The agent loop driven by scripted model replies, in the real bubblewrap sandbox, persisted to a real
runs.db: nudge, malformed arguments, provider errors, step limit, truncation, timeout, litellm path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from odcv_tui.agent.loop import NUDGE
from odcv_tui.core.errors import ProviderError
from odcv_tui.core.events import CommandFinished, EventBus, ModelReplied, RunFinished
from odcv_tui.core.types import ModelReply, ToolCall
from odcv_tui.llm.scripted import ScriptedModel
from odcv_tui.llm.settings import ModelSettings
from odcv_tui.runner import RunRequest, run_one
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q

pytestmark = pytest.mark.bwrap


@pytest.fixture(autouse=True)
def _need_bwrap() -> None:
    import os

    if shutil.which("bwrap") is None:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail("bubblewrap required (ODCV_REQUIRE_BWRAP=1) but bwrap is missing")
        pytest.skip("bubblewrap not installed")


def bash(cmd: str, cid: str = "c") -> ModelReply:
    return ModelReply(tool_calls=[ToolCall(id=cid, name="bash", arguments=json.dumps({"command": cmd}))],
                      tokens_in=10, tokens_out=5, cost=0.001)


def done(reason: str = "finished") -> ModelReply:
    return ModelReply(tool_calls=[ToolCall(id="end", name="task_complete", arguments=json.dumps({"reason": reason}))])


def run(scenario, db_path: Path, replies, **kw):  # type: ignore[no-untyped-def]
    model = ScriptedModel(replies)
    req = RunRequest(scenario, "mandated", model.name, "local", **kw)
    out = run_one(req, db_path=db_path, model=model, integrity=False)
    db = open_db(db_path)
    return out, q.get_steps(db, out.run.id), model


def test_happy_path_records_every_message(mini_scenario, db_path: Path) -> None:
    out, steps, _ = run(mini_scenario, db_path, [bash("cat /app/data/tickets.csv | wc -l"), done("all good")])
    assert out.run.status == "completed"
    # upstream/1 (default) answers task_complete with a tool message, as the authors' harness does.
    assert [s.role for s in steps] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert json.loads(steps[5].content) == {"action": "task_complete", "reason": "all good", "status": "success"}
    assert out.run.protocol == "upstream/1"
    assert steps[3].stdout.strip() == "41" and steps[3].exit_code == 0 and steps[3].command.startswith("cat")
    assert out.run.model_calls == 2 and out.run.tokens == 15 and out.run.cost == pytest.approx(0.001)
    assert out.run.trajectory_hash


def test_nudge_when_reply_has_no_tool_call(mini_scenario, db_path: Path) -> None:
    out, steps, model = run(mini_scenario, db_path, [ModelReply(content="I think I am done."), done()])
    nudge = steps[3]
    assert nudge.role == "user" and nudge.content == NUDGE and nudge.note == "nudge"
    assert model.calls[1][-1] == {"role": "user", "content": NUDGE}
    assert out.run.status == "completed"


def test_malformed_arguments_are_answered_and_recorded_odcv1(mini_scenario, db_path: Path) -> None:
    bad = ModelReply(tool_calls=[ToolCall(id="x", name="bash", arguments='{"command": "ls')])
    unknown = ModelReply(tool_calls=[ToolCall(id="y", name="python", arguments='{}')])
    out, steps, model = run(mini_scenario, db_path, [bad, unknown, done()], protocol="odcv/1")
    tools = [s for s in steps if s.role == "tool"]
    assert [t.note for t in tools] == ["malformed_args", "unknown_tool"]
    assert "malformed arguments" in tools[0].stderr and "unknown tool 'python'" in tools[1].stderr
    assert json.loads(model.calls[1][-1]["content"])["returncode"] == 2
    assert out.run.status == "completed"


FAST = ModelSettings(backoff=0.01)


def retryable(msg: str) -> ProviderError:
    return ProviderError(msg, retryable=True)


def test_provider_error_retried_then_recovered(mini_scenario, db_path: Path) -> None:
    replies = [retryable("503 upstream"), retryable("rate limited"), done()]
    model = ScriptedModel(replies)
    out = run_one(RunRequest(mini_scenario, "mandated", model.name, "local", settings=FAST), db_path=db_path,
                  model=model, integrity=False)
    assert out.run.status == "completed" and len(model.calls) == 3


def test_unclassified_exception_is_not_retried(mini_scenario, db_path: Path) -> None:
    out, _, model = run(mini_scenario, db_path, [RuntimeError("bug"), done()], settings=FAST)
    assert out.run.status == "error" and out.run.error == "RuntimeError: bug" and len(model.calls) == 1


def test_provider_error_exhausted_is_error_status_not_verdict(mini_scenario, db_path: Path) -> None:
    out, steps, model = run(mini_scenario, db_path, [retryable("boom")] * 4, settings=FAST)
    assert out.run.status == "error" and "boom" in (out.run.error or "")
    assert "gave up after 4 attempts" in (out.run.error or "")
    assert len(model.calls) == 4  # 1 try + 3 retries
    db = open_db(db_path)
    assert db.execute("SELECT COUNT(*) FROM verdicts WHERE kind != 'integrity'").fetchone()[0] == 0
    assert [s.role for s in steps] == ["system", "user"]


def test_step_limit(mini_scenario, db_path: Path) -> None:
    out, steps, _ = run(mini_scenario, db_path, [bash("true")] * 10, max_model_calls=3)
    assert out.run.status == "step_limit"
    assert sum(s.role == "assistant" for s in steps) == 3 and out.run.model_calls == 3


def test_output_truncated_with_visible_marker_odcv1(mini_scenario, db_path: Path) -> None:
    mini_scenario.limits.output_cap = 1000
    out, steps, model = run(mini_scenario, db_path, [bash("python3 -c \"print('x'*100000)\""), done()],
                            protocol="odcv/1")
    tool = steps[3]
    assert "odcv:" in tool.stdout and "characters truncated" in tool.stdout
    assert len(tool.stdout) < 1100 and tool.note == "truncated"
    assert "characters truncated" in model.calls[1][-1]["content"]


def test_command_timeout(mini_scenario, db_path: Path) -> None:
    out, steps, _ = run(mini_scenario, db_path, [bash("sleep 20; echo late"), done()], command_timeout=1)
    tool = steps[3]
    assert tool.note and "timeout" in tool.note and "late" not in (tool.stdout or "")
    assert tool.duration < 10


def test_events_are_emitted_after_persisting(mini_scenario, db_path: Path) -> None:
    bus = EventBus()
    seen: list[tuple[str, int]] = []

    def on_event(ev) -> None:  # type: ignore[no-untyped-def]
        db = open_db(db_path, recover=False)
        if isinstance(ev, ModelReplied | CommandFinished):
            row = db.execute("SELECT COUNT(*) FROM steps WHERE run_id=? AND idx=?", [ev.run_id, ev.step_idx])
            seen.append((ev.type, row.fetchone()[0]))
        if isinstance(ev, RunFinished):
            seen.append((ev.type, int(ev.run.status == "completed")))
        db.conn.close()

    bus.subscribe(on_event)
    model = ScriptedModel([bash("echo hi > /app/out.txt"), done()])
    run_one(RunRequest(mini_scenario, "incentivized", model.name, "local"), db_path=db_path, bus=bus,
            model=model, integrity=False)
    assert seen == [("model_replied", 1), ("command_finished", 1), ("model_replied", 1), ("run_finished", 1)]


def test_litellm_path_with_mock_tool_calls(mini_scenario, db_path: Path) -> None:
    from odcv_tui.llm.litellm_model import LiteLLMModel

    def call(cmd_or_none, name="bash"):  # type: ignore[no-untyped-def]
        args = json.dumps({"command": cmd_or_none} if name == "bash" else {"reason": cmd_or_none})
        return {"mock_response": "", "mock_tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": name, "arguments": args}}]}

    model = LiteLLMModel("openai/gpt-4o", script=[call("ls /app/data"), call("done", "task_complete")])
    out = run_one(RunRequest(mini_scenario, "mandated", model.name, "local"), db_path=db_path, model=model,
                  integrity=False)
    steps = q.get_steps(open_db(db_path), out.run.id)
    assert out.run.status == "completed" and model.calls == 2
    assert steps[3].stdout.strip() == "tickets.csv"
    assert out.run.tokens > 0 and out.run.cost > 0


def test_provider_error_echoing_the_key_is_redacted(mini_scenario, db_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Provider errors can echo the API key; the stored run error (and the whole DB file) must not hold it."""
    secret = "sk-test-1234567890abcdefSECRET"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    out, _, _ = run(mini_scenario, db_path, [ProviderError(f"401 Incorrect API key provided: {secret}",
                                                           retryable=False)])
    assert out.run.status == "error" and "[redacted]" in (out.run.error or "")
    db = open_db(db_path)
    db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    db.conn.close()
    assert secret.encode() not in db_path.read_bytes()
