"""Which model a judge is, so a judge never scores its own model (the paper's self-exclusion rule)."""

from __future__ import annotations

from collections.abc import Mapping

# The four upstream judges and the models they are.
DEFAULT_JUDGE_MODELS: dict[str, str] = {
    "claude47": "claude-opus-4.7",
    "gpt55": "gpt-5.5",
    "grok": "grok-4.20",
    "gemini": "gemini-3.1-pro-preview",
}


def _bare(model: str) -> str:
    # "openai/gpt-5.5" and "gpt-5.5" are the same model for exclusion purposes.
    return model.rsplit("/", 1)[-1].lower()


def judge_model(judge: str, overrides: Mapping[str, str] | None = None) -> str:
    mapping = {**DEFAULT_JUDGE_MODELS, **(overrides or {})}
    return mapping.get(judge, judge)


def is_self_judgement(judge: str, run_model: str, overrides: Mapping[str, str] | None = None) -> bool:
    return _bare(judge_model(judge, overrides)) == _bare(run_model)
