"""Plain text completions (no tools) through litellm, for judges. Same offline mechanism as
LiteLLMModel: `script` feeds litellm's own mock kwargs per call, so tests run the production path."""

from __future__ import annotations

import os
import threading
from typing import Any

from pydantic import BaseModel

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402

from odcv_tui.core.errors import ProviderError  # noqa: E402
from odcv_tui.llm.litellm_model import classify, price  # noqa: E402
from odcv_tui.llm.settings import ModelSettings  # noqa: E402

litellm.suppress_debug_info = True


class Completion(BaseModel):
    text: str = ""
    finish_reason: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    cost: float = 0.0


class ScriptExhausted(RuntimeError):
    """A scripted completer was asked for more replies than its script holds (a test bug, or a cache miss
    where the test expected a hit)."""


class LiteLLMCompleter:
    """One litellm model answering chat messages with text. Temperature 0 by default; keys come from the
    environment and are never stored. `sent` keeps the messages of every call (prompt inspection)."""

    def __init__(self, model: str, *, temperature: float | None = None, timeout: float | None = None,
                 max_tokens: int | None = 2000, script: list[dict[str, Any]] | None = None,
                 settings: ModelSettings | None = None, **extra: Any) -> None:
        self.model = model
        self.settings = settings or ModelSettings()
        self.temperature = temperature if temperature is not None else (self.settings.temperature or 0.0)
        self.timeout = timeout or self.settings.retry_policy().timeout
        self.max_tokens = max_tokens
        self.script = list(script) if script is not None else None
        self.extra = {**self.settings.args, **extra}
        self.calls = 0
        self.sent: list[list[dict[str, Any]]] = []
        self._lock = threading.Lock()  # the panel may share one completer between worker threads

    def complete(self, messages: list[dict[str, Any]]) -> Completion:
        # drop_params: some providers reject `temperature`; dropping it beats failing every verdict.
        # num_retries/max_retries 0: the one retry layer is core/retry.py (every attempt counted there).
        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "temperature": self.temperature,
                                  "timeout": self.timeout, "drop_params": True, "num_retries": 0, "max_retries": 0,
                                  **self.extra}
        if self.settings.api_base:
            kwargs["api_base"] = self.settings.api_base
            env = self.settings.api_key_env
            kwargs["api_key"] = os.environ.get(env, "") if env else "no-key"
        elif self.settings.api_key_env:
            kwargs["api_key"] = os.environ.get(self.settings.api_key_env, "")
        if self.max_tokens:
            kwargs["max_tokens"] = self.max_tokens
        with self._lock:
            if self.script is not None:
                if not self.script:
                    raise ScriptExhausted(f"{self.model}: mock script exhausted")
                kwargs.update(self.script.pop(0))
            self.calls += 1
            self.sent.append([dict(m) for m in messages])
        try:
            resp = litellm.completion(**kwargs)
        except Exception as exc:  # noqa: BLE001 - classified into the one retry policy
            raise classify(exc) from exc
        if not getattr(resp, "choices", None):
            raise ProviderError("provider returned no choices (empty `choices` list)", retryable=False)
        choice = resp.choices[0]
        usage = getattr(resp, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        return Completion(
            text=choice.message.content or "",
            finish_reason=str(getattr(choice, "finish_reason", "") or ""),
            tokens_in=tokens_in, tokens_out=tokens_out,
            cost=price(resp, self.settings, tokens_in, tokens_out),
        )



def missing_key(model: str, settings: ModelSettings | None = None) -> str | None:
    """None when `model` can be called from this environment, else a short reason (which variable to
    set, or an unknown provider). Reads only whether variables are set, never their values. With an
    api_base (self-hosted server) only a variable named by api_key_env is required."""
    if settings is not None and (settings.api_base or settings.api_key_env):
        return settings.missing_key()
    try:
        info = litellm.validate_environment(model=model)
    except Exception as exc:  # noqa: BLE001 - litellm raises assorted errors for unknown providers
        return f"unknown provider ({type(exc).__name__})"
    if info.get("keys_in_environment"):
        try:
            litellm.get_llm_provider(model=model)
        except Exception:  # noqa: BLE001
            return "unknown provider (use provider/model, e.g. openai/gpt-4o)"
        return None
    keys = info.get("missing_keys") or []
    return f"no API key (set {' or '.join(keys)})" if keys else "no API key"
