"""The agent loop in one screen (mini-swe-agent style): ask the model, run its bash calls in the
sandbox, feed observations back, stop on task_complete, limits, cancellation or provider failure.

What the model reads (tools, suffix, reply wording, caps, shell) is the protocol profile's business
(agent/protocols.py); persistence and events are the caller's, through `LoopHooks`: every message is
handed over the moment it exists, so a crash loses nothing already said."""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from odcv_tui.agent.protocols import DEFAULT_PROFILE, NUDGE, PROFILES, SAFETY_CAP, NonObjectArguments, Profile
from odcv_tui.core.errors import (
    AgentStop,
    Interrupted,
    LimitsExceeded,
    ProviderError,
    ProviderFailed,
    SandboxGone,
    Submitted,
)
from odcv_tui.core.protocols import Model, Sandbox
from odcv_tui.core.retry import RequestCancelled, RetryPolicy, call_with_retries
from odcv_tui.core.secrets import redact
from odcv_tui.core.types import ExecResult, ModelReply, Step, ToolCall

__all__ = ["NUDGE", "AgentLoop", "LoopConfig", "LoopHooks", "cap_output"]


@dataclass
class LoopConfig:
    max_model_calls: int = 50
    command_timeout: float = 30.0
    output_cap: int = 16_000  # used only by profiles that cap (odcv/1)
    profile: Profile = field(default_factory=lambda: PROFILES[DEFAULT_PROFILE])
    retry: RetryPolicy = field(default_factory=RetryPolicy)


class LoopHooks(Protocol):
    def on_step(self, step: Step) -> None: ...
    def on_command_started(self, step_idx: int, command: str) -> None: ...
    def on_command_finished(self, step: Step) -> None: ...
    def cancelled(self) -> bool: ...
    # Optional: on_retry(attempt, attempts, wait_seconds, error_line) - looked up with getattr.


def cap_output(text: str, cap: int) -> tuple[str, bool]:
    """odcv/1: keep head and tail with a visible marker, so the model sees both the start and the verdict."""
    if len(text) <= cap:
        return text, False
    half = cap // 2
    cut = len(text) - 2 * half
    return f"{text[:half]}\n[... odcv: {cut} characters truncated ...]\n{text[-half:]}", True


def _safety_cap(text: str) -> tuple[str, bool]:
    # No marker: the model must read nothing upstream would not send; the step's note records the cut.
    return (text[:SAFETY_CAP], True) if len(text) > SAFETY_CAP else (text, False)


def _exec_takes_shell(sandbox: Sandbox) -> bool:
    try:
        return "shell" in inspect.signature(sandbox.exec).parameters
    except (TypeError, ValueError):
        return False


class AgentLoop:
    def __init__(self, model: Model, sandbox: Sandbox, run_id: str, hooks: LoopHooks, cfg: LoopConfig) -> None:
        self.model, self.sandbox, self.run_id, self.hooks, self.cfg = model, sandbox, run_id, hooks, cfg
        self.profile = cfg.profile
        self.messages: list[dict[str, Any]] = []
        self.idx = 0
        self.model_calls = 0
        self.attempts = 0  # requests sent, retries included
        self._shell_kw = {"shell": self.profile.shell} if _exec_takes_shell(sandbox) else {}

    def add(self, message: dict[str, Any], **step_fields: Any) -> Step:
        self.messages.append(message)
        self.idx += 1
        step = Step(run_id=self.run_id, idx=self.idx, role=message["role"], **step_fields)
        self.hooks.on_step(step)
        return step

    def run(self, system_prompt: str, user_prompt: str,
            history: list[dict[str, Any]] | None = None) -> tuple[str, str]:
        """Returns (status, reason): completed / step_limit / interrupted / error. `system_prompt` is final
        (the profile's suffix already applied). `history` (forks): provider messages after system + user,
        recorded as steps noted "forked" and sent as they are."""
        self.add({"role": "system", "content": system_prompt}, content=system_prompt)
        self.add({"role": "user", "content": user_prompt}, content=user_prompt)
        for msg in history or []:
            self._add_history(msg)
        try:
            while True:
                self.step()
        except AgentStop as stop:
            return stop.status, stop.reason

    def _add_history(self, msg: dict[str, Any]) -> None:
        msg = dict(msg)
        # runner/fork.py: the parent step's recorded fields (stdout, exit code, reasoning...) under "_step",
        # stored on the child's copy but never sent to the model.
        extra = msg.pop("_step", None) or {}
        calls = [ToolCall(id=c.get("id", ""), name=c["function"]["name"], arguments=c["function"]["arguments"])
                 for c in msg.get("tool_calls") or []]
        self.add(msg, content=msg.get("content"), tool_calls=calls, tool_call_id=msg.get("tool_call_id"),
                 note="forked", **extra)

    def query(self) -> ModelReply:
        if self.hooks.cancelled():
            raise Interrupted("cancelled by user")
        if self.model_calls >= self.cfg.max_model_calls:
            raise LimitsExceeded(f"reached {self.cfg.max_model_calls} model calls")
        self.model_calls += 1
        on_retry = getattr(self.hooks, "on_retry", None)

        def attempt() -> ModelReply:
            self.attempts += 1
            return self.model.query(self.messages, self.profile.tools)

        try:
            return call_with_retries(attempt, self.cfg.retry, cancelled=self.hooks.cancelled, on_retry=on_retry)
        except RequestCancelled as exc:
            raise Interrupted("cancelled by user") from exc
        except ProviderError as exc:
            raise ProviderFailed(redact(str(exc))) from exc
        except Exception as exc:  # noqa: BLE001 - an unclassified failure ends the run as `error`, unretried
            raise ProviderFailed(redact(f"{type(exc).__name__}: {exc}")) from exc

    def step(self) -> None:
        reply = self.query()
        calls = reply.tool_calls
        bash_cmd = self._first_command(calls)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if self.profile.send_reasoning_details and reply.reasoning_details:
            message["reasoning_details"] = reply.reasoning_details
        if calls:
            message["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": c.arguments}} for c in calls]
        elif not self.profile.verbatim_messages:
            message["tool_calls"] = None
        self.add(message, content=reply.content, reasoning=reply.reasoning, tool_calls=calls, command=bash_cmd,
                 tokens_in=reply.tokens_in, tokens_out=reply.tokens_out, cost=reply.cost)
        if not calls:
            self.add({"role": "user", "content": NUDGE}, content=NUDGE, note="nudge")
            return
        for call in calls:
            self.execute(call)

    def _first_command(self, calls: list[ToolCall]) -> str | None:
        for c in calls:
            if c.name == "bash":
                try:
                    return self.profile.bash_command(c.arguments)[0]
                except NonObjectArguments:
                    return None
        return None

    def tool_reply(self, call: ToolCall, payload: dict[str, Any], **fields: Any) -> Step:
        content = json.dumps(payload)
        return self.add({"tool_call_id": call.id, "role": "tool", "content": content},
                        tool_call_id=call.id, content=content, **fields)

    def execute(self, call: ToolCall) -> None:
        try:
            self._execute(call)
        except NonObjectArguments as exc:
            raise ProviderFailed(f"tool call {call.name} arguments are JSON but not an object: "
                                 f"{str(exc)[:200]!r}") from exc

    def _execute(self, call: ToolCall) -> None:
        if call.name == "task_complete":
            reason = self.profile.complete_reason(call.arguments)
            if self.profile.answer_task_complete:
                self.tool_reply(call, self.profile.task_complete_reply(reason), note="task_complete")
            raise Submitted(reason)
        if call.name != "bash":
            payload = self.profile.unknown_tool(call.name)
            self.tool_reply(call, payload, stderr=payload.get("stderr") or payload.get("error"),
                            exit_code=payload.get("returncode"), note="unknown_tool")
            return
        command, note = self.profile.bash_command(call.arguments)
        if command is None:
            problem = f"malformed arguments {call.arguments[:200]!r}: expected JSON {{\"command\": str}}"
            self.tool_reply(call, {"stdout": "", "stderr": f"Error: {problem}", "returncode": 2},
                            stderr=f"Error: {problem}", exit_code=2, note="malformed_args")
            return
        self.hooks.on_command_started(self.idx + 1, command)
        res, failed = self._run_command(command)
        notes = [n for n in (note, "timeout" if res.timed_out else None, "exec_failed" if failed else None) if n]
        if self.profile.capped:
            stdout, cut_out = cap_output(res.stdout, self.cfg.output_cap)
            stderr, cut_err = cap_output(res.stderr, self.cfg.output_cap)
        else:
            stdout, cut_out = _safety_cap(res.stdout)
            stderr, cut_err = _safety_cap(res.stderr)
        if cut_out or cut_err:
            notes.append("truncated")
        payload = self.profile.command_result(stdout, stderr, res.exit_code, res.timed_out)
        step = self.tool_reply(call, payload, command=command, stdout=payload["stdout"], stderr=payload["stderr"],
                               exit_code=payload["returncode"], duration=round(res.duration, 4),
                               note=",".join(notes) or None)
        self.hooks.on_command_finished(step)

    def _run_command(self, command: str) -> tuple[ExecResult, bool]:
        """A command the sandbox cannot take is the model's observation (as the orchestrator answers any
        exception), not a dead run; only a sandbox that no longer answers a trivial probe ends the run."""
        try:
            return self.sandbox.exec(command, timeout=self.cfg.command_timeout, **self._shell_kw), False
        except Exception as exc:  # noqa: BLE001 - any backend failure becomes a tool observation
            message = redact(str(exc)) or type(exc).__name__
            try:
                self.sandbox.exec("true", timeout=10, **self._shell_kw)
            except Exception as probe:  # noqa: BLE001
                raise SandboxGone(redact(f"sandbox gone: {type(exc).__name__}: {exc}; probe: {probe}")) from exc
            failure = self.profile.exec_failure(message)
            return ExecResult(stdout=failure["stdout"], stderr=failure["stderr"], exit_code=failure["returncode"]), True
