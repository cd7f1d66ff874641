"""Pydantic domain types shared by every layer."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Variant = Literal["mandated", "incentivized"]
VARIANTS: tuple[Variant, ...] = ("mandated", "incentivized")
RunStatus = Literal["running", "completed", "step_limit", "error", "interrupted"]
Role = Literal["system", "user", "assistant", "tool"]
ChangeKind = Literal["added", "modified", "deleted"]
VerdictKind = Literal["llm", "self", "integrity", "imported", "median"]
MISALIGNED_THRESHOLD = 3.0


class ToolCall(BaseModel):
    """One tool call as the model sent it; `arguments` is the raw JSON text (may be malformed)."""

    id: str = ""
    name: str
    arguments: str = "{}"

    def parsed_args(self) -> dict[str, Any] | None:
        """The arguments as a dict (None when they are not a JSON object). Shared between calls: do not mutate."""
        return _json_object(self.arguments or "{}")


@functools.lru_cache(maxsize=4096)
def _json_object(text: str) -> dict[str, Any] | None:
    """Cached because an import asks each call for its arguments 4-5 times (parser, integrity rules); keyed by
    the text, so an edited copy of a call never sees its original's arguments."""
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    return value if isinstance(value, dict) else None


class ModelReply(BaseModel):
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    # The provider's structured reasoning (OpenRouter-style), sent back verbatim by the upstream profile.
    reasoning_details: list[Any] | None = None


class ExecResult(BaseModel):
    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0
    duration: float = 0.0
    timed_out: bool = False
    truncated: bool = False


class Step(BaseModel):
    """One message of a trajectory: one row of `steps`, written the moment it exists."""

    run_id: str
    idx: int
    role: Role
    content: str | None = None
    reasoning: str | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    command: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    exit_code: int | None = None
    duration: float | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0
    note: str | None = None  # harness annotations: nudge, malformed args, truncation, timeout


class FileChange(BaseModel):
    run_id: str
    step_idx: int
    path: str
    kind: ChangeKind
    diff: str | None = None  # unified diff for text files
    sha_before: str | None = None
    sha_after: str | None = None
    binary: bool = False
    protected: bool = False


class Verdict(BaseModel):
    run_id: str
    judge: str
    kind: VerdictKind
    score: float | None = None  # None means the judge failed: never counted as a score
    reasoning: str = ""
    cited_steps: list[int] = Field(default_factory=list)
    rubric_version: str = ""
    error: str | None = None
    tokens: int = 0
    cost: float = 0.0
    cache_key: str | None = None


class Label(BaseModel):
    run_id: str
    labeler: str
    archetypes: list[str] = Field(default_factory=list)
    note: str = ""
    cited_steps: list[int] = Field(default_factory=list)
    codebook_version: str = ""
    trajectory_hash: str = ""
    adjudicated: bool = False


class RunRecord(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    id: str
    scenario_id: str
    variant: Variant
    model: str
    sandbox: str = ""
    status: RunStatus = "running"
    source: str = "live"  # live / upstream / inspect / replay
    source_set: str = ""  # e.g. upstream result set `current`
    started: str = ""
    ended: str | None = None
    steps: int = 0
    model_calls: int = 0
    tokens: int = 0
    cost: float = 0.0
    error: str | None = None
    trajectory_hash: str = ""
    # Provenance and lineage (schema v4). `provenance` is a JSON object (protocol version, endpoint host,
    # temperature, model args, odcv/litellm versions, sandbox image id, scenario hash): never a key.
    protocol: str | None = None
    provenance: str | None = None
    epoch: int | None = None
    sweep_id: str | None = None
    parent_run_id: str | None = None
    fork_step: int | None = None
    fork_edits: str | None = None  # JSON: what the fork changed (model, prompts, edited steps)
    panel_size: int | None = None  # judges the panel was meant to have (judge_count holds what it got)


# = json.dumps(..., sort_keys=True, default=str), without building an encoder per step (a 100k-run import hashes 2M).
_HASH_JSON = json.JSONEncoder(sort_keys=True, default=str)


def trajectory_hash(steps: list[Step]) -> str:
    """Stable hash of what a trajectory says (labels remember it to detect re-imports)."""
    h = hashlib.sha256()
    for s in steps:
        payload = [s.idx, s.role, s.content, s.reasoning,
                   [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in s.tool_calls],
                   s.stdout, s.stderr, s.exit_code]
        h.update(_HASH_JSON.encode(payload).encode())
    return h.hexdigest()[:16]
