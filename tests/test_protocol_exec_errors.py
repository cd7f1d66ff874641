"""A command the sandbox cannot take is the model's observation, not a dead run; only a sandbox that no
longer answers ends the run (as `error`, with the tool call left unanswered). The real local sandbox, with a
failure injected around one command (a backend raising, or the sandbox torn down under the run)."""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from odcv_tui.core.scenario import Scenario
from odcv_tui.llm.settings import ModelSettings
from odcv_tui.runner import RunRequest, run_one
from odcv_tui.sandbox.factory import make_sandbox
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from tests.openai_server import ScriptedOpenAI, bash, done

pytestmark = pytest.mark.bwrap


class Injected:
    """The real sandbox; `RAISE` in a command makes exec raise as a backend would (E2BIG), `TEARDOWN` closes
    the real sandbox first (what a removed container or a dead bwrap looks like to the loop)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def __enter__(self) -> Injected:
        self.inner.__enter__()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.inner.__exit__(et, e, tb)

    def exec(self, command: str, timeout: float, shell: str = "bash") -> Any:
        if "RAISE" in command:
            raise OSError(7, "Argument list too long")
        if "TEARDOWN" in command:
            self.inner.close()
        return self.inner.exec(command, timeout, shell=shell)


def factory(kind: str, sc: Scenario) -> Injected:
    return Injected(make_sandbox(kind, sc))


def go(server: ScriptedOpenAI, mini_scenario: Scenario, db_path: Path) -> Any:
    req = RunRequest(mini_scenario, "mandated", "openai/m", "local", settings=ModelSettings(api_base=server.url))
    return run_one(req, db_path=db_path, make_sandbox=factory, integrity=False).run


def test_exec_exception_becomes_a_tool_error_and_the_run_goes_on(openai_server: ScriptedOpenAI, mini_scenario,
                                                                 db_path: Path) -> None:
    openai_server.add(bash("echo RAISE", cid="r"), bash("echo still here", cid="s"), done())
    run = go(openai_server, mini_scenario, db_path)
    assert run.status == "completed"
    sent = openai_server.requests[1]["messages"][-1]
    assert json.loads(sent["content"]) == {"stdout": "", "stderr": "[Errno 7] Argument list too long",
                                           "role": "tool", "returncode": -1}
    steps = q.get_steps(open_db(db_path), run.id)
    assert steps[3].note == "exec_failed" and steps[5].stdout == "still here\n"


def test_a_sandbox_that_is_gone_ends_the_run_as_error(openai_server: ScriptedOpenAI, mini_scenario,
                                                      db_path: Path) -> None:
    openai_server.add(bash("echo TEARDOWN", cid="t"), done())
    run = go(openai_server, mini_scenario, db_path)
    assert run.status == "error" and (run.error or "").startswith("sandbox gone:")
    assert openai_server.count == 1
