"""What a fork continues from: the parent's messages up to the fork step (edited where asked), the
commands whose effects must be rebuilt in the sandbox, and the JSON stored in runs.fork_edits.

Headless and side-effect free: everything here is checked before any sandbox starts, so bad input is a
one-line error and never a half-created run."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import RunRecord, Step
from odcv_tui.storage import queries as q


def text_sha(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()[:16]


@dataclass
class ForkSpec:
    """What the user asked for (`odcv fork RUN_ID --at STEP --model M ...`)."""

    parent_id: str
    at: int
    model: str
    system_prompt: str | None = None  # replacement texts, already read from their files
    user_prompt: str | None = None
    step_edits: dict[int, str] = field(default_factory=dict)
    sandbox: str = "local"
    epochs: int = 1
    allow_divergence: bool = False
    protocol: str | None = None  # None: the parent's protocol profile (imported runs: the default, upstream)
    settings: Any = None  # llm/settings.ModelSettings of the continuing model (endpoint, key variable, ...)


@dataclass
class ForkPlan:
    parent: RunRecord
    fork_step: int  # effective: the last parent step the child keeps
    system_prompt: str
    user_prompt: str
    history: list[dict[str, Any]]  # provider messages after system + user
    kept: list[Step]  # the parent's steps 1..fork_step (unedited), for the state rebuild
    edits: dict[str, Any]  # the runs.fork_edits payload (without the state check, added later)
    protocol: str | None = None

    @property
    def edit_key(self) -> str:
        return str(self.edits.get("edit_key", "none"))


def _is_task_complete(step: Step) -> bool:
    return step.role == "assistant" and any(c.name == "task_complete" for c in step.tool_calls)


def effective_step(steps: list[Step], at: int, source: str) -> int:
    """The fork keeps steps 1..at. An assistant step whose tool calls were answered takes its answers
    along (a provider rejects a tool call left without a tool reply)."""
    idxs = [s.idx for s in steps]
    if at < 2:
        raise InputError(source, "--at", f"step {at}: fork at step 2 or later (1 is the system prompt)")
    if at not in idxs:
        raise InputError(source, "--at", f"step {at} does not exist (the run has steps {idxs[0]}..{idxs[-1]})"
                         if idxs else f"step {at}: the run has no stored steps")
    pos = idxs.index(at)
    # The last assistant message at or before the fork step: every call it made must keep its answer, also
    # when the fork step is the first of several tool replies.
    owner = next((s for s in reversed(steps[:pos + 1]) if s.role == "assistant"), None)
    if owner is not None and owner.tool_calls and steps[pos].role in ("assistant", "tool"):
        ids = {c.id for c in owner.tool_calls}
        while pos + 1 < len(steps) and steps[pos + 1].role == "tool" and (
                steps[pos + 1].tool_call_id in ids or not steps[pos + 1].tool_call_id):
            pos += 1
    # A reply without a tool call was followed by the harness's nudge: keep it, as the harness would send it.
    if steps[pos].role == "assistant" and not steps[pos].tool_calls and pos + 1 < len(steps) \
            and steps[pos + 1].role == "user":
        pos += 1
    for s in steps[:pos + 1]:
        if _is_task_complete(s):
            raise InputError(source, "--at", f"step {at}: the parent already called task_complete at step "
                                             f"{s.idx}; fork at an earlier step")
    return steps[pos].idx


# Recorded fields the child's copy of a step keeps (what the Trajectory, Compare, the integrity detector and a
# fork of this fork read); tokens and cost are the parent's spending, not copied.
_KEPT_FIELDS = ("reasoning", "command", "stdout", "stderr", "exit_code", "duration")


def to_message(step: Step, content: str | None) -> dict[str, Any]:
    """A stored step as the provider message it was (tool rows keep their JSON content verbatim), plus its
    recorded fields under "_step" (the loop stores them and strips them from what it sends)."""
    if step.role == "assistant":
        msg: dict[str, Any] = {"role": "assistant", "content": content}
        if step.tool_calls:
            msg["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in step.tool_calls]
    elif step.role == "tool":
        msg = {"role": "tool", "tool_call_id": step.tool_call_id or "", "content": content or ""}
    else:
        msg = {"role": step.role, "content": content or ""}
    # An edited step keeps its command and reasoning, not the outputs its new text replaced.
    kept = _KEPT_FIELDS if content == step.content else ("reasoning", "command")
    msg["_step"] = {k: getattr(step, k) for k in kept if getattr(step, k) is not None}
    return msg


def edit_key(system: bool, user: bool, steps: list[int]) -> str:
    """A short name for the kind of edit, the grouping `odcv stats --forks` reports per edit."""
    parts = (["system"] if system else []) + (["user"] if user else []) + [f"step{i}" for i in steps]
    return "+".join(parts) or "none"


def plan_fork(db: sqlite_utils.Database, spec: ForkSpec) -> ForkPlan:
    parent = q.get_run(db, spec.parent_id)
    if parent is None:
        raise InputError(spec.parent_id, "RUN_ID", "no such run")
    steps = q.get_steps(db, parent.id)
    fork_step = effective_step(steps, spec.at, parent.id)
    kept = [s for s in steps if s.idx <= fork_step]
    if len(kept) < 2 or kept[0].role != "system" or kept[1].role != "user":
        raise InputError(parent.id, "steps", "expected a system then a user message as steps 1 and 2")
    by_idx = {s.idx: s for s in kept}
    for idx in spec.step_edits:
        if idx in (1, 2):
            raise InputError(f"--edit {idx}", "STEP", "use --system-prompt / --user-prompt for steps 1 and 2")
        if idx not in by_idx:
            raise InputError(f"--edit {idx}", "STEP", f"not a step the fork keeps (3..{fork_step})")
    # The stored system message is final (profile suffix included); an edited one replaces the scenario's
    # prompt, so the fork's profile appends its suffix as it would for a fresh run.
    protocol = fork_protocol(spec, parent)
    system = (_profile(protocol).system_message(spec.system_prompt) if spec.system_prompt is not None
              else (kept[0].content or ""))
    user = spec.user_prompt if spec.user_prompt is not None else (kept[1].content or "")
    history = [to_message(s, spec.step_edits.get(s.idx, s.content)) for s in kept[2:]]
    edits: dict[str, Any] = {
        "model": spec.model, "parent_model": parent.model, "parent_status": parent.status,
        "requested_step": spec.at,
        "system_prompt": None if spec.system_prompt is None else
        {"sha256": text_sha(spec.system_prompt), "was": text_sha(kept[0].content)},
        "user_prompt": None if spec.user_prompt is None else
        {"sha256": text_sha(spec.user_prompt), "was": text_sha(kept[1].content)},
        "steps": {str(i): {"sha256": text_sha(t), "was": text_sha(by_idx[i].content)}
                  for i, t in sorted(spec.step_edits.items())},
        "edit_key": edit_key(spec.system_prompt is not None, spec.user_prompt is not None,
                             sorted(spec.step_edits)),
    }
    edits["protocol"] = protocol or "default"
    return ForkPlan(parent=parent, fork_step=fork_step, system_prompt=system, user_prompt=user,
                    history=history, kept=kept, edits=edits, protocol=protocol)


def _profile(protocol: str | None):  # type: ignore[no-untyped-def]
    from odcv_tui.agent.protocols import get_profile

    return get_profile(protocol)


def fork_protocol(spec: ForkSpec, parent: RunRecord) -> str | None:
    """The profile the continuation speaks: asked for, else the parent's when it is one we know."""
    if spec.protocol:
        return spec.protocol
    try:
        return _profile(parent.protocol).id if parent.protocol else None
    except InputError:  # a profile from a newer odcv: the default rather than a refusal
        return None


def parse_edit(value: str) -> tuple[int, str]:
    """`--edit STEP=FILE` -> (step, file path)."""
    step, sep, path = value.partition("=")
    if not sep or not step.strip().isdigit() or not path:
        raise InputError(f"--edit {value}", None, "expected STEP=FILE, e.g. --edit 14=observation.txt")
    return int(step), path


def dumps(edits: dict[str, Any]) -> str:
    return json.dumps(edits, sort_keys=True)
