"""The production model path: litellm chat completions with tool calling."""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402

from odcv_tui.core.types import ModelReply, ToolCall  # noqa: E402

litellm.suppress_debug_info = True


class LiteLLMModel:
    """`name` is any litellm model string (e.g. `openai/gpt-4o`). Keys come from the environment and are
    never stored. `mock_response` (litellm's own mechanism) lets tests drive this exact code path."""

    def __init__(self, name: str, temperature: float = 0.0, timeout: float = 120.0,
                 mock_response: Any = None, script: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        self.name = name
        self.temperature = temperature
        self.timeout = timeout
        self.mock_response = mock_response
        # `script`: one dict of litellm mock kwargs per call ({"mock_response": ..., "mock_tool_calls": ...});
        # tests drive the real completion() path with it, offline.
        self.script = list(script) if script is not None else None
        self.extra = extra
        self.calls = 0

    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        kwargs: dict[str, Any] = {"model": self.name, "messages": messages, "tools": tools,
                                  "temperature": self.temperature, "timeout": self.timeout, **self.extra}
        if self.mock_response is not None:
            kwargs["mock_response"] = self.mock_response
        if self.script is not None:
            if not self.script:
                raise RuntimeError("litellm mock script exhausted")
            kwargs.update(self.script.pop(0))
        self.calls += 1
        resp = litellm.completion(**kwargs)
        msg = resp.choices[0].message
        calls = [ToolCall(id=c.id or "", name=c.function.name or "", arguments=c.function.arguments or "")
                 for c in (msg.tool_calls or [])]
        usage = getattr(resp, "usage", None)
        try:
            cost = float(litellm.completion_cost(completion_response=resp) or 0.0)
        except Exception:  # noqa: BLE001 - unknown models have no price; cost stays 0
            cost = 0.0
        return ModelReply(
            content=msg.content,
            reasoning=getattr(msg, "reasoning_content", None),
            tool_calls=calls,
            tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
            cost=cost,
        )


def provider_error_types() -> tuple[type[BaseException], ...]:
    """Exceptions worth retrying (rate limits, timeouts, 5xx, connection errors)."""
    return (litellm.exceptions.RateLimitError, litellm.exceptions.Timeout,
            litellm.exceptions.APIConnectionError, litellm.exceptions.ServiceUnavailableError,
            litellm.exceptions.InternalServerError)
