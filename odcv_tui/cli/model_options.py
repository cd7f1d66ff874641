"""Click options shared by `odcv run` and `odcv judge` for reaching models: endpoint, key variable,
temperature, extra request arguments, timeouts, retries (and, for runs, the agent protocol profile).

Flags without a model name apply to every model of the command; `--model-option MODEL KEY=VALUE` (repeatable)
sets one model's value and wins over them, e.g. a local agent and a cloud judge in one process."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click

from odcv_tui.core.errors import InputError
from odcv_tui.llm.settings import ModelOptions

NOT_PROVIDER = ("oracle/", "scripted/")


def model_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--api-base", "api_base", metavar="URL", default=None,
                     help="OpenAI-compatible endpoint for the models (vLLM, Ollama /v1, LM Studio); "
                          "use with a model named openai/<served name>"),
        click.option("--api-key-env", "api_key_env", metavar="NAME", default=None,
                     help="environment variable holding the key (its value is never stored)"),
        click.option("--temperature", type=click.FloatRange(0, 2), default=None,
                     help="sampling temperature (default 0.0, as upstream)"),
        click.option("--model-arg", "model_args", multiple=True, metavar="KEY=VALUE",
                     help="extra request argument, e.g. reasoning_effort=high (repeatable; JSON values ok)"),
        click.option("--model-option", "model_option_pairs", multiple=True, nargs=2, metavar="MODEL KEY=VALUE",
                     help="one model's setting: api_base, api_key_env, temperature, timeout, retries, price_in, "
                          "price_out (USD per 1M tokens) or any request argument (repeatable)"),
        click.option("--model-timeout", "model_timeout", type=click.FloatRange(1, 7200), default=None,
                     help="seconds per model request (default 120)"),
        click.option("--retries", type=click.IntRange(0, 20), default=None,
                     help="extra attempts after a retryable provider error (default 3 for agents, 2 for judges)"),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def protocol_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--protocol", "protocol", default=None, metavar="PROFILE",
                        help="agent protocol profile: upstream (default; the authors' harness as the model "
                             "sees it) or odcv/1 (see docs/MODELS.md)")(fn)


def build_options(kw: dict[str, Any]) -> ModelOptions:
    """Pops the shared options out of a command's kwargs and returns them parsed (bad ones: one line)."""
    return ModelOptions.build(api_base=kw.pop("api_base"), api_key_env=kw.pop("api_key_env"),
                              temperature=kw.pop("temperature"), timeout=kw.pop("model_timeout"),
                              retries=kw.pop("retries"), model_args=kw.pop("model_args"),
                              model_options=kw.pop("model_option_pairs"))


def preflight(models: Iterable[str], options: ModelOptions) -> None:
    """Before any run starts: every provider model must be callable from this environment. Names the
    missing key variable in one line (values are never read). Imports litellm only when a provider model
    is given without an api_base (to ask which variable that provider needs)."""
    for name in dict.fromkeys(models):
        if name.startswith(NOT_PROVIDER):
            continue
        settings = options.for_model(name)
        if settings.api_base or settings.api_key_env:
            problem = settings.missing_key()
        else:
            from odcv_tui.llm.complete import missing_key

            problem = missing_key(name)
        if problem:
            raise InputError(f"--model {name}", None, problem)
    for name in options.per_model:
        if name not in models:
            click.echo(f"odcv: warning: --model-option for {name}, which this command does not use", err=True)
