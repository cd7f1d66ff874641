"""Protocols each layer is written against (mini-swe-agent style: Model, Sandbox)."""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import ExecResult, FileChange, ModelReply


@runtime_checkable
class Model(Protocol):
    """A chat model with tool calling. `name` is what runs.db records as the run's model."""

    name: str

    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply: ...


class FileMeta(NamedTuple):
    """One path the agent touched: content sha256, size, permission bits, kind (file/symlink/special/deleted)."""

    sha: str
    size: int
    mode: int
    kind: str


# Every path the agent touched anywhere since the sandbox started (shown path -> meta); paths not in it are
# as the image/scenario left them. Cheap to take: O(touched paths), contents hashed only when they moved.
FileState = dict[str, FileMeta]


@runtime_checkable
class Sandbox(Protocol):
    """An isolated machine for one run. Paths are absolute paths as the agent sees them."""

    name: str
    image_id: str  # docker image id or the local rootfs tree's hash: provenance of what the agent ran on

    def start(self) -> None: ...

    def exec(self, command: str, timeout: float, shell: str = "bash") -> ExecResult:
        """`shell` "bash" runs `bash -c`, "sh" runs `/bin/sh -c` (like subprocess shell=True)."""
        ...

    def read_file(self, path: str) -> bytes: ...

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None: ...

    def snapshot(self, roots: list[str]) -> dict[str, bytes]:
        """Every regular file under `roots` with its content (path -> bytes). Costly; prefer file_state."""
        ...

    def file_state(self) -> FileState: ...

    def changes_since(self, previous: FileState, run_id: str, step_idx: int,
                      scenario: Scenario | None = None) -> tuple[list[FileChange], FileState]:
        """Per-step file changes anywhere on the filesystem (one pass, O(changed)) and the new state."""
        ...

    def close(self) -> None: ...
