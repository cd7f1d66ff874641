"""Provider faults through the real client path: `odcv run` (click's CliRunner, in process) with litellm
talking HTTP to the scripted OpenAI-compatible server on 127.0.0.1. Each fault: the run's status, the
one-line message, how many requests reached the server (the attempt count: litellm/openai SDK retries are
off, ours are counted), and how long it took."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from odcv_tui.cli.main import cli
from odcv_tui.core.events import EventBus, ModelRetrying
from odcv_tui.llm.settings import ModelSettings
from odcv_tui.runner import RunRequest, run_one
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from tests.conftest import FIXTURES
from tests.openai_server import ScriptedOpenAI, bash, call, done, fault, text

pytestmark = pytest.mark.bwrap
MINI = FIXTURES / "scenarios" / "mini-sla"


def odcv_run(server_url: str, db: Path, *extra: str) -> tuple[Any, Any, float]:
    args = ["run", "--scenario", str(MINI), "--variant", "mandated", "--model", "openai/m", "--api-base", server_url,
            "--model-option", "openai/m", "backoff=0.05", "--db", str(db), *extra]
    t0 = time.monotonic()
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    took = time.monotonic() - t0
    runs = open_db(db).execute("SELECT id FROM runs WHERE source='live'").fetchall() if db.exists() else []
    run = q.get_run(open_db(db), runs[0][0]) if runs else None
    return res, run, took


@pytest.mark.parametrize(("script", "status", "message", "requests"), [
    ([fault("500")] * 4, "error", "InternalServerError", 4),
    ([fault("503")] * 4, "error", "ServiceUnavailableError", 4),
    ([fault("malformed"), done()], "completed", None, 2),
    ([fault("401")], "error", "AuthenticationError: Incorrect API key provided. (HTTP 401)", 1),
    ([fault("403")], "error", "(HTTP 403)", 1),
    ([fault("bad_request")], "error", "Invalid value for 'tool_choice'. (HTTP 400)", 1),
    ([fault("context_overflow")], "error", "ContextWindowExceededError", 1),
    ([fault("empty_choices")], "error", "provider returned no choices", 1),
], ids=["500", "503", "malformed", "401", "403", "400", "context", "empty"])
def test_fault(script: list[dict[str, Any]], status: str, message: str | None, requests: int,
               openai_server: ScriptedOpenAI, tmp_path: Path) -> None:
    openai_server.add(*script)
    res, run, _ = odcv_run(openai_server.url, tmp_path / "runs.db", "--retries", "3")
    assert run is not None and run.status == status, (res.output, run)
    assert openai_server.count == requests
    if message:
        assert message in (run.error or "") and "\n" not in (run.error or "")
        assert res.exit_code == 1
    if status == "error" and requests == 4:
        assert "gave up after 4 attempts" in (run.error or "")
        assert "attempt 4/4" in res.output  # the CLI shows the attempt counter


def test_429_honours_retry_after_with_a_visible_attempt_counter(openai_server: ScriptedOpenAI,
                                                               tmp_path: Path) -> None:
    openai_server.add(fault("429", retry_after=1), done())
    res, run, _ = odcv_run(openai_server.url, tmp_path / "runs.db")
    assert run is not None and run.status == "completed" and openai_server.count == 2
    gap = openai_server.arrivals[1] - openai_server.arrivals[0]
    assert gap >= 0.95, gap  # Retry-After: 1 beats the 0.05 s backoff
    assert "RateLimitError" in res.output and "attempt 2/4" in res.output


def test_hang_times_out_per_attempt_and_gives_up(openai_server: ScriptedOpenAI, tmp_path: Path) -> None:
    openai_server.add(fault("hang"), fault("hang"))
    res, run, took = odcv_run(openai_server.url, tmp_path / "runs.db", "--model-timeout", "1", "--retries", "1")
    assert run is not None and run.status == "error" and "Timeout" in (run.error or "")
    assert openai_server.count == 2 and took < 20  # 2 x 1 s + backoff, plus the sandbox and imports


def test_dead_endpoint_fails_in_seconds(tmp_path: Path) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there: connection refused
    res, run, took = odcv_run(f"http://127.0.0.1:{port}/v1", tmp_path / "runs.db")
    assert run is not None and run.status == "error" and "gave up after 4 attempts" in (run.error or "")
    assert "Connection error" in (run.error or "") and took < 30


def test_text_unknown_tool_and_huge_reply_are_observations(openai_server: ScriptedOpenAI, tmp_path: Path) -> None:
    big = "x" * 1_000_000
    openai_server.add(text("thinking"), call("python", {"code": "1"}, cid="u1"), text(big), done())
    _, run, _ = odcv_run(openai_server.url, tmp_path / "runs.db")
    assert run is not None and run.status == "completed" and openai_server.count == 4
    msgs = openai_server.requests[-1]["messages"]
    assert msgs[3]["content"].startswith("This is an automatic message from the system")
    assert json.loads(msgs[5]["content"]) == {"error": "[UNKNOWN TOOL] python"}
    assert msgs[6]["content"] == big  # the 1 MB reply went back to the model whole
    steps = q.get_steps(open_db(tmp_path / "runs.db"), run.id)
    assert any(s.content == big for s in steps)


def test_missing_key_is_named_before_any_run(openai_server: ScriptedOpenAI, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ODCV_TEST_NO_SUCH_KEY", raising=False)
    res, run, _ = odcv_run(openai_server.url, tmp_path / "runs.db", "--api-key-env", "ODCV_TEST_NO_SUCH_KEY")
    assert res.exit_code == 2 and run is None and openai_server.count == 0
    assert "ODCV_TEST_NO_SUCH_KEY is not set" in res.output


def test_key_from_named_variable_reaches_the_server_but_not_the_db(openai_server: ScriptedOpenAI, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-local-TESTKEY-0123456789abcdef"
    monkeypatch.setenv("ODCV_TEST_KEY", secret)
    openai_server.add(done())
    _, run, _ = odcv_run(openai_server.url, tmp_path / "runs.db", "--api-key-env", "ODCV_TEST_KEY",
                         "--temperature", "0.3", "--model-arg", "reasoning_effort=high")
    assert run is not None and run.status == "completed"
    body = openai_server.requests[0]
    assert body["temperature"] == 0.3 and body["reasoning_effort"] == "high"
    prov = json.loads(run.provenance or "{}")
    assert prov["model"]["api_key_env"] == "ODCV_TEST_KEY" and prov["model"]["endpoint_host"].startswith("127.0.0.1")
    assert prov["model"]["args"] == {"reasoning_effort": "high"} and run.cost == 0.0  # self-hosted: never priced
    db = open_db(tmp_path / "runs.db")
    db.conn.execute("PRAGMA wal_checkpoint(FULL)")
    assert secret.encode() not in (tmp_path / "runs.db").read_bytes()


def test_cancel_during_a_hung_request_is_interrupted_within_2s(openai_server: ScriptedOpenAI,
                                                              tmp_path: Path) -> None:
    from odcv_tui.scenarios import load_scenario

    openai_server.add(fault("hang"))
    cancel, box = threading.Event(), {}
    req = RunRequest(load_scenario(MINI), "mandated", "openai/m", "local",
                     settings=ModelSettings(api_base=openai_server.url, timeout=600))
    worker = threading.Thread(target=lambda: box.update(out=run_one(req, db_path=tmp_path / "runs.db",
                                                                    cancel=cancel, integrity=False)))
    worker.start()
    deadline = time.monotonic() + 60
    while openai_server.count == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert openai_server.count == 1
    t0 = time.monotonic()
    cancel.set()
    worker.join(10)
    assert time.monotonic() - t0 < 2.0
    assert box["out"].run.status == "interrupted" and box["out"].run.error is None


def test_retry_event_reaches_subscribers(openai_server: ScriptedOpenAI, tmp_path: Path) -> None:
    from odcv_tui.scenarios import load_scenario

    openai_server.add(fault("500"), done())
    bus, seen = EventBus(), []
    bus.subscribe(lambda ev: seen.append(ev) if isinstance(ev, ModelRetrying) else None)
    run_one(RunRequest(load_scenario(MINI), "mandated", "openai/m", "local",
                       settings=ModelSettings(api_base=openai_server.url, backoff=0.05)),
            db_path=tmp_path / "runs.db", bus=bus, integrity=False)
    assert [(e.attempt, e.attempts) for e in seen] == [(2, 4)] and "HTTP 500" in seen[0].error


def test_300kB_heredoc_command_goes_through(openai_server: ScriptedOpenAI, tmp_path: Path) -> None:
    payload = "".join(f"line {i:06d} " + "y" * 40 + "\n" for i in range(6000))  # ~320 kB
    openai_server.add(bash(f"cat > /app/big.txt <<'EOF'\n{payload}EOF\nwc -c < /app/big.txt", cid="h"), done())
    _, run, _ = odcv_run(openai_server.url, tmp_path / "runs.db")
    assert run is not None and run.status == "completed", run
    reply = json.loads(openai_server.requests[1]["messages"][3]["content"])
    assert reply["returncode"] == 0 and reply["stdout"].strip() == str(len(payload.encode()))


def test_ctrl_c_on_odcv_run_during_a_hung_request(openai_server: ScriptedOpenAI, tmp_path: Path) -> None:
    """One SIGINT to the real `odcv run` process while the model request hangs: the process exits within
    2 s and the run is stored `interrupted`, not `error`."""
    import signal
    import subprocess
    import sys

    openai_server.add(fault("hang"))
    db = tmp_path / "runs.db"
    proc = subprocess.Popen([sys.executable, "-m", "odcv_tui.cli.main", "run", "--scenario", str(MINI), "--variant",
                             "mandated", "--model", "openai/m", "--api-base", openai_server.url, "--db", str(db)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while openai_server.count == 0 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert openai_server.count == 1, proc.stderr.read().decode() if proc.poll() is not None else "no request"
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
        assert time.monotonic() - t0 < 2.0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode != 0
    (status, error) = open_db(db).execute("SELECT status, error FROM runs").fetchone()
    assert status == "interrupted" and error is None
