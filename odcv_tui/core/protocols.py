"""Protocols each layer is written against (mini-swe-agent style: Model, Sandbox)."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from odcv_tui.core.types import ExecResult, ModelReply


@runtime_checkable
class Model(Protocol):
    """A chat model with tool calling. `name` is what runs.db records as the run's model."""

    name: str

    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply: ...


@runtime_checkable
class Sandbox(Protocol):
    """An isolated machine for one run. Paths are absolute paths as the agent sees them."""

    name: str

    def start(self) -> None: ...

    def exec(self, command: str, timeout: float) -> ExecResult: ...

    def read_file(self, path: str) -> bytes: ...

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None: ...

    def snapshot(self, roots: list[str]) -> dict[str, bytes]:
        """Every regular file under `roots` with its content (path -> bytes)."""
        ...

    def close(self) -> None: ...
