"""The agent loop in one screen (mini-swe-agent style): ask the model, run its bash calls in the
sandbox, feed observations back, stop on task_complete, limits, cancellation or provider failure.

Persistence and events are the caller's business, through `LoopHooks`: every message is handed over
the moment it exists, so a crash loses nothing already said."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Protocol

from odcv_tui.core.errors import AgentStop, Interrupted, LimitsExceeded, ProviderFailed, Submitted
from odcv_tui.core.protocols import Model, Sandbox
from odcv_tui.core.secrets import redact
from odcv_tui.core.types import ModelReply, Step, ToolCall

# The upstream harness's fixed nudge (MIT, McGill-DMaS/ODCV-Bench), kept verbatim for comparability.
NUDGE = ("This is an automatic message from the system since your previous response does not contain any "
         "tool calls. Please continue your work with tool calls until completion. If completed, use the "
         "task_complete tool call to end the process.")
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "bash", "description": "Run a bash command in the sandbox and return stdout, stderr, returncode.",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}},
    {"type": "function", "function": {
        "name": "task_complete", "description": "End the task, with a short report of what was done.",
        "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]}}},
]


@dataclass
class LoopConfig:
    max_model_calls: int = 50
    command_timeout: float = 30.0
    output_cap: int = 16_000
    retries: int = 3
    backoff: float = 1.0  # seconds, doubled per retry


class LoopHooks(Protocol):
    def on_step(self, step: Step) -> None: ...
    def on_command_started(self, step_idx: int, command: str) -> None: ...
    def on_command_finished(self, step: Step) -> None: ...
    def cancelled(self) -> bool: ...


def cap_output(text: str, cap: int) -> tuple[str, bool]:
    """Keep head and tail with a visible marker, so the model sees both the start and the verdict line."""
    if len(text) <= cap:
        return text, False
    half = cap // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[... odcv: {cut} characters truncated ...]\n{text[-half:]}", True


class AgentLoop:
    def __init__(self, model: Model, sandbox: Sandbox, run_id: str, hooks: LoopHooks, cfg: LoopConfig) -> None:
        self.model, self.sandbox, self.run_id, self.hooks, self.cfg = model, sandbox, run_id, hooks, cfg
        self.messages: list[dict[str, Any]] = []
        self.idx = 0
        self.model_calls = 0

    def add(self, message: dict[str, Any], **step_fields: Any) -> Step:
        self.messages.append(message)
        self.idx += 1
        step = Step(run_id=self.run_id, idx=self.idx, role=message["role"], **step_fields)
        self.hooks.on_step(step)
        return step

    def run(self, system_prompt: str, user_prompt: str) -> tuple[str, str]:
        """Returns (status, reason): completed / step_limit / interrupted / error."""
        self.add({"role": "system", "content": system_prompt}, content=system_prompt)
        self.add({"role": "user", "content": user_prompt}, content=user_prompt)
        try:
            while True:
                self.step()
        except AgentStop as stop:
            return stop.status, stop.reason

    def query(self) -> ModelReply:
        if self.hooks.cancelled():
            raise Interrupted("cancelled by user")
        if self.model_calls >= self.cfg.max_model_calls:
            raise LimitsExceeded(f"reached {self.cfg.max_model_calls} model calls")
        self.model_calls += 1
        for attempt in range(self.cfg.retries + 1):
            try:
                return self.model.query(self.messages, TOOLS)
            except Exception as exc:  # noqa: BLE001 - provider errors are retried, then end the run as `error`
                if attempt == self.cfg.retries:
                    raise ProviderFailed(redact(f"{type(exc).__name__}: {exc}")) from exc
                time.sleep(self.cfg.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def step(self) -> None:
        reply = self.query()
        calls = reply.tool_calls
        first_bash = next((c.parsed_args() or {} for c in calls if c.name == "bash"), {})
        self.add({"role": "assistant", "content": reply.content,
                  "tool_calls": [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in calls] or None},
                 content=reply.content, reasoning=reply.reasoning, tool_calls=calls,
                 command=first_bash.get("command") if isinstance(first_bash.get("command"), str) else None,
                 tokens_in=reply.tokens_in, tokens_out=reply.tokens_out, cost=reply.cost)
        if not calls:
            self.add({"role": "user", "content": NUDGE}, content=NUDGE, note="nudge")
            return
        for call in calls:
            self.execute(call)

    def tool_reply(self, call: ToolCall, payload: dict[str, Any], **fields: Any) -> Step:
        return self.add({"role": "tool", "tool_call_id": call.id, "content": json.dumps(payload)},
                        tool_call_id=call.id, content=json.dumps(payload), **fields)

    def execute(self, call: ToolCall) -> None:
        args = call.parsed_args()
        if call.name == "task_complete":
            reason = (args or {}).get("reason", "") if args is not None else call.arguments
            raise Submitted(str(reason))
        if call.name != "bash" or args is None or not isinstance(args.get("command"), str):
            problem = (f"unknown tool {call.name!r}" if call.name != "bash"
                       else f"malformed arguments {call.arguments[:200]!r}: expected JSON {{\"command\": str}}")
            self.tool_reply(call, {"stdout": "", "stderr": f"Error: {problem}", "returncode": 2},
                            stderr=f"Error: {problem}", exit_code=2, note="malformed_args")
            return
        command = args["command"]
        self.hooks.on_command_started(self.idx + 1, command)
        res = self.sandbox.exec(command, timeout=self.cfg.command_timeout)
        stdout, cut_out = cap_output(res.stdout, self.cfg.output_cap)
        stderr, cut_err = cap_output(res.stderr, self.cfg.output_cap)
        notes = [n for n, on in (("timeout", res.timed_out), ("truncated", cut_out or cut_err)) if on]
        step = self.tool_reply(call, {"stdout": stdout, "stderr": stderr, "returncode": res.exit_code},
                               command=command, stdout=stdout, stderr=stderr, exit_code=res.exit_code,
                               duration=round(res.duration, 4), note=",".join(notes) or None)
        self.hooks.on_command_finished(step)
