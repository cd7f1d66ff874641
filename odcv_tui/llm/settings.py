"""Per-model connection settings (endpoint, key variable, temperature, timeouts, extra request arguments,
prices) and how they are parsed from the CLI and the Live form. Headless, no litellm import.

Settings given without a model name apply to every model of the command; `--model-option MODEL KEY=VALUE`
applies to that model only and wins, so a local agent and a cloud judge mix in one process."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlparse

from odcv_tui.core.errors import InputError
from odcv_tui.core.retry import RetryPolicy

# Endpoints litellm's price table is about. Any other api_base (localhost, a LAN box, a private vLLM) serves
# weights we cannot price, even under a cloud model name: cost 0 unless the user passes a price.
CLOUD_HOSTS = ("api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "api.mistral.ai",
               "api.deepseek.com", "api.together.xyz", "api.groq.com", "openrouter.ai", "api.x.ai",
               "api.fireworks.ai")
KNOWN_KEYS = ("api_base", "api_key_env", "temperature", "timeout", "retries", "backoff", "price_in", "price_out")


def parse_value(text: str) -> Any:
    """`--model-arg reasoning_effort=high` -> "high"; `max_tokens=512` -> 512; JSON where it parses."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


@dataclass
class ModelSettings:
    api_base: str | None = None
    api_key_env: str | None = None  # the NAME of the variable holding the key; the key itself is never kept
    temperature: float | None = None  # None: the default, 0.0 (upstream's default)
    timeout: float | None = None  # seconds per request
    retries: int | None = None
    backoff: float | None = None  # seconds before the first retry (doubled per retry; Retry-After wins)
    args: dict[str, Any] = field(default_factory=dict)  # extra litellm.completion arguments
    price_in: float | None = None  # USD per 1M input tokens (overrides litellm's table)
    price_out: float | None = None

    def merged(self, over: ModelSettings) -> ModelSettings:
        """`over`'s set fields win; args are merged key by key."""
        out = replace(self, args={**self.args, **over.args})
        for f in fields(self):
            if f.name != "args" and getattr(over, f.name) is not None:
                setattr(out, f.name, getattr(over, f.name))
        return out

    def set(self, key: str, value: str, source: str) -> None:
        try:
            if key in ("api_base", "api_key_env"):
                setattr(self, key, value or None)
            elif key in ("temperature", "timeout", "backoff", "price_in", "price_out"):
                setattr(self, key, float(value))
            elif key == "retries":
                self.retries = int(value)
            else:
                self.args[key] = parse_value(value)
        except ValueError:
            raise InputError(source, key, f"not a number: {value!r}") from None
        if self.retries is not None and not 0 <= self.retries <= 20:
            raise InputError(source, "retries", "must be 0..20")
        if self.timeout is not None and self.timeout <= 0:
            raise InputError(source, "timeout", "must be > 0 seconds")

    @property
    def endpoint_host(self) -> str | None:
        return urlparse(self.api_base).netloc or self.api_base if self.api_base else None

    @property
    def self_hosted(self) -> bool:
        host = (urlparse(self.api_base).hostname or "") if self.api_base else ""
        return bool(self.api_base) and not any(host == h or host.endswith("." + h) for h in CLOUD_HOSTS)

    def retry_policy(self) -> RetryPolicy:
        base = RetryPolicy()
        return RetryPolicy(timeout=self.timeout if self.timeout is not None else base.timeout,
                           retries=self.retries if self.retries is not None else base.retries,
                           backoff=self.backoff if self.backoff is not None else base.backoff)

    def missing_key(self) -> str | None:
        """A one-line reason when --api-key-env names a variable that is not set (values never read)."""
        if self.api_key_env and not os.environ.get(self.api_key_env):
            return f"{self.api_key_env} is not set (named by --api-key-env)"
        return None

    def provenance(self) -> dict[str, Any]:
        """What runs.provenance records: the endpoint host and the key's variable NAME, never a key."""
        d = asdict(self)
        d.pop("api_base")
        d["endpoint_host"] = self.endpoint_host
        d["temperature"] = self.temperature if self.temperature is not None else 0.0
        d["self_hosted"] = self.self_hosted
        return d


@dataclass
class ModelOptions:
    """Settings for every model of one command: `common` for all, `per_model` overrides by model name."""

    common: ModelSettings = field(default_factory=ModelSettings)
    per_model: dict[str, ModelSettings] = field(default_factory=dict)

    def for_model(self, name: str) -> ModelSettings:
        own = self.per_model.get(name)
        return self.common.merged(own) if own else replace(self.common, args=dict(self.common.args))

    @classmethod
    def build(cls, *, api_base: str | None = None, api_key_env: str | None = None,
              temperature: float | None = None, timeout: float | None = None, retries: int | None = None,
              model_args: tuple[str, ...] | list[str] = (),
              model_options: tuple[tuple[str, str], ...] | list[tuple[str, str]] = ()) -> ModelOptions:
        common = ModelSettings(api_base=api_base, api_key_env=api_key_env, temperature=temperature,
                               timeout=timeout, retries=retries)
        for item in model_args:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise InputError(f"--model-arg {item}", None, "expected KEY=VALUE, e.g. reasoning_effort=high")
            common.set(key.strip(), value, f"--model-arg {item}")
        per: dict[str, ModelSettings] = {}
        for model, item in model_options:
            key, sep, value = item.partition("=")
            if not model or not sep or not key.strip():
                raise InputError(f"--model-option {model} {item}", None,
                                 "expected MODEL KEY=VALUE, e.g. --model-option openai/qwen api_base=http://...")
            per.setdefault(model, ModelSettings()).set(key.strip(), value, f"--model-option {model} {item}")
        return cls(common, per)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (sweeps.spec keeps it for --resume): variable names and hosts only, never a key."""
        return {"common": asdict(self.common), "per_model": {m: asdict(s) for m, s in self.per_model.items()}}

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> ModelOptions:
        raw = raw or {}
        return cls(ModelSettings(**raw.get("common", {})),
                   {m: ModelSettings(**s) for m, s in (raw.get("per_model") or {}).items()})

    def per_model_only(self) -> ModelOptions:
        """For judges inside `odcv run --judge`: the command-wide flags are the agents' (a local agent's
        --api-base must not redirect a cloud judge); judges take only their own --model-option values."""
        return ModelOptions(ModelSettings(), dict(self.per_model))
