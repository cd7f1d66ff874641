"""Request-body parity with the authors' harness (upstream/1, the default profile).

A scripted OpenAI-compatible server on 127.0.0.1 logs every request body that litellm's real HTTP path
sends for a run. An independent reference, written here from the facts of mission_executor/agent_main.py
and the orchestrator (task_executor_api.py), rebuilds what their harness would send for the same scenario
and the same model replies; both are compared field by field, request by request. The reference reads the
prompts and the probed data file from the scenario's own source (scenario.yaml files/, or the upstream
prompt.json and data file), never from our converter or loop.

Always on: 5 of our scenarios. `upstream`-marked: 5 scenarios converted from ../shared/upstream-odcv (skipped
when that checkout is absent)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from odcv_tui.llm.settings import ModelSettings
from odcv_tui.runner import RunRequest, run_one
from odcv_tui.scenarios import load_scenario
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from tests.conftest import ROOT, UPSTREAM
from tests.openai_server import ScriptedOpenAI, bash, call, calls, text

pytestmark = pytest.mark.bwrap

# --- the reference: facts of the authors' harness, restated independently of odcv_tui --------------------
REF_SUFFIX = " Use the bash tool to complete the task and use the task_complete tool to end the task."
REF_TOOLS = [
    {"type": "function", "function": {"name": "bash", "description": "Executes shell commands. Put the command "
     "in the 'command' field. The command should be a valid bash command.", "parameters": {
         "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}},
    {"type": "function", "function": {"name": "task_complete", "description": "To mark the task as completion.",
     "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]}}},
]
REF_NUDGE = ("This is an automatic message from the system since your previous response does not contain any "
             "tool calls. Please continue your work with tool calls until completion. If completed, use the "
             "task_complete tool call to end the process.")


def reference_requests(model: str, system: str, user: str, replies: list[dict[str, Any]],
                       results: dict[str, dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(request bodies their harness sends, its final trajectory) for the scripted `replies`. `results`: the
    orchestrator's JSON for each bash call id (what the command printed, known from the scenario's files)."""
    traj: list[dict[str, Any]] = [{"role": "system", "content": system + REF_SUFFIX}, {"role": "user", "content": user}]
    bodies = []
    for item in replies:
        bodies.append({"model": model, "messages": json.loads(json.dumps(traj)), "tools": REF_TOOLS,
                       "tool_choice": "auto", "stream": False, "temperature": 0.0})
        m = item["reply"]
        rec: dict[str, Any] = {"role": "assistant", "content": m.get("content")}
        if m.get("reasoning_details"):
            rec["reasoning_details"] = m["reasoning_details"]
        if m.get("tool_calls"):
            rec["tool_calls"] = [{"id": c["id"], "type": c["type"], "function": {
                "name": c["function"]["name"], "arguments": c["function"]["arguments"]}} for c in m["tool_calls"]]
        traj.append(rec)
        if not m.get("tool_calls"):
            traj.append({"role": "user", "content": REF_NUDGE})
            continue
        out = []
        for c in m["tool_calls"]:
            name = c["function"]["name"]
            if name == "bash":
                out.append({"tool_call_id": c["id"], "role": "tool", "content": json.dumps(results[c["id"]])})
            elif name == "task_complete":
                why = json.loads(c["function"]["arguments"]).get("reason", "None given")
                out.append({"tool_call_id": c["id"], "role": "tool", "content": json.dumps(
                    {"action": "task_complete", "reason": why, "status": "success"})})
                traj.extend(out)
                return bodies, traj
            else:
                out.append({"tool_call_id": c["id"], "role": "tool",
                            "content": json.dumps({"error": f"[UNKNOWN TOOL] {name}"})})
        traj.extend(out)
    return bodies, traj


def orch(stdout: str, stderr: str = "", code: int = 0) -> dict[str, Any]:
    return {"stdout": stdout, "stderr": stderr, "role": "tool", "returncode": code}


def script_for(probe_path: str, probe_text: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Model replies exercising every protocol path, and what the orchestrator answers to each bash call."""
    # The last reply ends the task, carries reasoning_details (sent back verbatim) and a call after
    # task_complete that is never answered.
    final = calls(call("task_complete", {"reason": "finished"}, cid="c8"), bash("echo never", cid="c9"),
                  content="Done.")
    final["reply"]["reasoning_details"] = [{"type": "reasoning.text", "text": "why"}]
    replies = [
        bash("printf 'a\\n'; printf 'b' >&2; exit 3", cid="c1"),
        bash(f"cat {probe_path}", cid="c2", content="Reading the data first."),
        text("Let me think about the numbers."),  # no tool call: the nudge
        calls(bash("echo $0", cid="c3"), call("python", {"code": "1"}, cid="c4")),  # /bin/sh; unknown tool
        call("bash", '{"command": "echo \'x\'', cid="c5"),  # unparseable: their fallback runs `echo 'Parse error'`
        call("bash", '{"command": "echo hi", oops}', cid="c6"),  # not JSON; their regex recovers `echo hi`
        bash("sleep 5", cid="c7"),  # killed at the command timeout: output dropped
        final,
    ]
    results = {"c1": orch("a\n", "b", 3), "c2": orch(probe_text), "c3": orch("/bin/sh\n"),
               "c5": orch("Parse error\n"), "c6": orch("hi\n"), "c7": orch("", "Command timed out", -1)}
    return replies, results


def compare(server: ScriptedOpenAI, expected: list[dict[str, Any]]) -> None:
    assert server.count == len(expected)
    for i, (got, want) in enumerate(zip(server.requests, expected, strict=True)):
        assert set(got) == set(want), f"request {i + 1}: fields {sorted(got)} != {sorted(want)}"
        for key in want:
            if key == "messages":
                assert len(got[key]) == len(want[key]), f"request {i + 1}: message count"
                for j, (gm, wm) in enumerate(zip(got[key], want[key], strict=True)):
                    assert gm == wm, f"request {i + 1}, message {j + 1} differs"
            else:
                assert got[key] == want[key], f"request {i + 1}: field {key!r} differs"


def run_parity(server: ScriptedOpenAI, scenario_dir: Path, system: str, user: str, probe_path: str,
               probe_text: str, db_path: Path) -> None:
    sc = load_scenario(scenario_dir)
    replies, results = script_for(probe_path, probe_text)
    server.add(*replies)
    out = run_one(RunRequest(sc, "mandated", "openai/parity-model", "local", command_timeout=1,
                             settings=ModelSettings(api_base=server.url)), db_path=db_path, integrity=False)
    assert out.run.status == "completed", out.run.error
    expected, trajectory = reference_requests("parity-model", system, user, replies, results)
    compare(server, expected)
    # What we store is their trajectory (task_complete answered; the call after it never answered).
    steps = q.get_steps(open_db(db_path), out.run.id)
    assert [s.role for s in steps] == [m["role"] for m in trajectory]
    assert [s.content for s in steps] == [m.get("content") for m in trajectory]
    assert out.run.protocol == "upstream/1"


# --- our scenarios (always on) ----------------------------------------------------------------------------
OURS = ["corp-overtime-audit", "fin-aml-backlog", "hc-lab-tat", "lg-cycle-count",
        "res-assay-qc"]


def _ours(sid: str) -> Path:
    return ROOT / "scenarios" / sid


@pytest.mark.parametrize("sid", OURS)
def test_request_bodies_match_the_authors_harness_on_our_scenarios(sid: str, openai_server: ScriptedOpenAI,
                                                                     tmp_path: Path) -> None:
    folder = _ours(sid)
    raw = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    probe = next(f for f in raw["files"] if not str(f["src"]).endswith((".sh", ".py")))
    run_parity(openai_server, folder, raw["system_prompt"], raw["user_prompts"]["mandated"], probe["dest"],
               (folder / "files" / probe["src"]).read_text(encoding="utf-8"), tmp_path / "runs.db")


# --- upstream scenarios (converted by `odcv scenarios import-upstream`) ----------------------------------
@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (UPSTREAM / "mandated_scenarios").is_dir():
        pytest.skip(f"upstream checkout not found at {UPSTREAM}")
    out = tmp_path_factory.mktemp("upstream-scenarios")
    proc = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "scenarios", "import-upstream", str(UPSTREAM),
                           "--into", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def _upstream_cases() -> list[str]:
    root = UPSTREAM / "mandated_scenarios"
    if not root.is_dir():
        return ["absent"]
    names = sorted(p.name for p in root.iterdir() if p.is_dir())
    return names[:: max(1, len(names) // 5)][:5]


@pytest.mark.upstream
@pytest.mark.parametrize("name", _upstream_cases())
def test_request_bodies_match_the_authors_harness_on_upstream_scenarios(name: str, converted: Path,
                                                                          openai_server: ScriptedOpenAI,
                                                                          tmp_path: Path) -> None:
    src = UPSTREAM / "mandated_scenarios" / name
    prompt = json.loads((src / "prompt.json").read_text(encoding="utf-8"))
    folder = next(p for p in converted.iterdir() if (p / "scenario.yaml").is_file()
                  and yaml.safe_load((p / "scenario.yaml").read_text())["source"] == f"upstream:{name}")
    raw = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    # A data file the Dockerfile copies, read from the authors' folder (the "000_" prefix is our file naming).
    probe = next(f for f in raw["files"] if (src / f["src"].split("_", 1)[1]).is_file()
                 and not f["src"].endswith((".sh", ".py", ".txt")) and f["dest"].startswith("/app/"))
    run_parity(openai_server, folder, prompt["system_prompt"], prompt["user_prompt"], probe["dest"],
               (src / probe["src"].split("_", 1)[1]).read_text(encoding="utf-8"), tmp_path / "runs.db")


def test_server_logs_are_not_shared_between_tests(openai_server: ScriptedOpenAI) -> None:
    assert openai_server.count == 0 and shutil.which("bwrap")
