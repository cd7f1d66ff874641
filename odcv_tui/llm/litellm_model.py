"""The production model path: litellm chat completions with tool calling, one request per call (the SDKs'
own retries are off: the one retry layer is core/retry.py), failures classified as ProviderError."""

from __future__ import annotations

import gc
import os
import re
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # noqa: E402

from odcv_tui.core.errors import ProviderError  # noqa: E402
from odcv_tui.core.types import ModelReply, ToolCall  # noqa: E402
from odcv_tui.llm.settings import ModelSettings  # noqa: E402

litellm.suppress_debug_info = True
# litellm's import leaves ~1M tracked objects; the interpreter's final collection then takes 3-7 s, so a
# Ctrl-C'd `odcv run` lingered long after its runs were stored. Frozen objects are skipped by every
# collection (they live as long as the process anyway).
gc.freeze()

_RETRYABLE = (litellm.exceptions.RateLimitError, litellm.exceptions.Timeout, litellm.exceptions.APIConnectionError,
              litellm.exceptions.ServiceUnavailableError, litellm.exceptions.InternalServerError)
_PREFIX = re.compile(r"^(?:litellm\.\w+:\s*|\w+(?:Error|Exception):\s*|OpenAIException\s*-\s*|APITimeoutError\s*-\s*)+")


def _header(exc: BaseException, name: str) -> str | None:
    for headers in (getattr(exc, "litellm_response_headers", None),
                    getattr(getattr(exc, "response", None), "headers", None)):
        try:
            value = headers.get(name) if headers is not None else None
        except Exception:  # noqa: BLE001 - header containers vary by litellm version
            value = None
        if value:
            return str(value)
    return None


def classify(exc: BaseException) -> ProviderError:
    """One line saying what the provider returned, and whether another attempt can help."""
    status = getattr(exc, "status_code", None)
    status = int(status) if isinstance(status, int | str) and str(status).isdigit() else None
    text = _PREFIX.sub("", str(getattr(exc, "message", "") or exc)).strip().splitlines()
    detail = (text[0] if text else "")[:300]
    kind = type(exc).__name__
    if "Expecting value" in detail or "Received response" in detail:
        detail = "malformed JSON in the provider's reply"
    if isinstance(exc, litellm.exceptions.ContextWindowExceededError):
        retryable = False
    elif status in (401, 403, 404) or isinstance(exc, litellm.exceptions.AuthenticationError):
        retryable = False
    elif isinstance(exc, _RETRYABLE) or (status is not None and status >= 500) or status in (408, 409, 429):
        retryable = True
    else:
        retryable = False
    retry_after = None
    if status == 429 or isinstance(exc, litellm.exceptions.RateLimitError):
        raw = _header(exc, "retry-after")
        try:
            retry_after = float(raw) if raw else None
        except ValueError:
            retry_after = None
    line = f"{kind}: {detail}" + (f" (HTTP {status})" if status else "")
    return ProviderError(line, retryable=retryable, retry_after=retry_after, status=status)


class LiteLLMModel:
    """`name` is any litellm model string (e.g. `openai/gpt-4o`, or `openai/<served name>` with an api_base
    for vLLM / Ollama / LM Studio). Keys come from the environment (the variable named by api_key_env) and
    are never stored. `script` (litellm's own mock kwargs per call) lets tests drive this path offline."""

    def __init__(self, name: str, settings: ModelSettings | None = None, *, temperature: float | None = None,
                 timeout: float | None = None, mock_response: Any = None,
                 script: list[dict[str, Any]] | None = None, **extra: Any) -> None:
        self.name = name
        self.settings = settings or ModelSettings()
        self.temperature = temperature if temperature is not None else (self.settings.temperature or 0.0)
        self.timeout = timeout or self.settings.retry_policy().timeout
        self.mock_response = mock_response
        self.script = list(script) if script is not None else None
        self.extra = {**self.settings.args, **extra}
        self.calls = 0
        # Set by the run from its protocol profile: extra request fields (tool_choice, stream) and whether
        # OpenAI-compatible routes get the messages byte for byte (litellm drops `content: null` otherwise).
        self.request_params: dict[str, Any] = {}
        self.verbatim = False

    def _openai_route(self) -> bool:
        try:
            return litellm.get_llm_provider(model=self.name, api_base=self.settings.api_base)[1] == "openai"
        except Exception:  # noqa: BLE001 - unknown providers fail later with their own message
            return False

    def _kwargs(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.name, "messages": messages, "tools": tools,
                                  "temperature": self.temperature, "timeout": self.timeout,
                                  "num_retries": 0, "max_retries": 0, **self.extra}
        params = dict(self.request_params)
        s = self.settings
        if s.api_base:
            kwargs["api_base"] = s.api_base
            # A self-hosted server gets a placeholder, never a cloud key from the environment.
            kwargs["api_key"] = os.environ.get(s.api_key_env, "") if s.api_key_env else "no-key"
        elif s.api_key_env:
            kwargs["api_key"] = os.environ.get(s.api_key_env, "")
        if self.verbatim and self._openai_route():
            # The OpenAI SDK merges extra_body over the request it built: these fields go out exactly.
            kwargs["extra_body"] = {**kwargs.get("extra_body", {}), "messages": messages, "tools": tools, **params}
            params.pop("stream", None)
        params.pop("stream", None)  # litellm sends no `stream` for non-streaming calls on other routes
        kwargs.update(params)
        return kwargs

    def query(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        kwargs = self._kwargs(messages, tools)
        if self.mock_response is not None:
            kwargs["mock_response"] = self.mock_response
        if self.script is not None:
            if not self.script:
                raise RuntimeError("litellm mock script exhausted")
            kwargs.update(self.script.pop(0))
        self.calls += 1
        try:
            resp = litellm.completion(**kwargs)
        except Exception as exc:  # noqa: BLE001 - classified into one retry policy
            raise classify(exc) from exc
        if not getattr(resp, "choices", None):
            raise ProviderError("provider returned no choices (empty `choices` list)", retryable=False)
        msg = resp.choices[0].message
        calls = [ToolCall(id=c.id or "", name=c.function.name or "", arguments=c.function.arguments or "")
                 for c in (msg.tool_calls or [])]
        usage = getattr(resp, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        extra = getattr(msg, "provider_specific_fields", None) or {}
        details = getattr(msg, "reasoning_details", None) or extra.get("reasoning_details")
        return ModelReply(
            content=msg.content,
            reasoning=getattr(msg, "reasoning_content", None),
            tool_calls=calls, tokens_in=tokens_in, tokens_out=tokens_out,
            cost=price(resp, self.settings, tokens_in, tokens_out),
            reasoning_details=list(details) if isinstance(details, list) else None,
        )


def price(resp: Any, settings: ModelSettings, tokens_in: int, tokens_out: int) -> float:
    """The user's price when given; 0 for a self-hosted endpoint (never cloud prices for local weights
    served under a cloud name); else litellm's table (0 for unknown models)."""
    if settings.price_in is not None or settings.price_out is not None:
        return (tokens_in * (settings.price_in or 0.0) + tokens_out * (settings.price_out or 0.0)) / 1e6
    if settings.self_hosted:
        return 0.0
    try:
        return float(litellm.completion_cost(completion_response=resp) or 0.0)
    except Exception:  # noqa: BLE001 - unknown models have no price; cost stays 0
        return 0.0
