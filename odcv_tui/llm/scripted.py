"""A model that answers from a fixed list of replies (or raises the exceptions in it): used by tests
and benchmarks to drive the real loop without any provider."""

from __future__ import annotations

from typing import Any

from odcv_tui.core.types import ModelReply


class ScriptedModel:
    def __init__(self, replies: list[ModelReply | Exception], name: str = "scripted/test") -> None:
        self.name = name
        self._replies = list(replies)
        self.calls: list[list[dict[str, Any]]] = []

    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        self.calls.append([dict(m) for m in messages])
        if not self._replies:
            raise RuntimeError("scripted model ran out of replies")
        reply = self._replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply
