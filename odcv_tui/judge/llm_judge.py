"""One LLM judge scoring one run: build the prompt, call the model (provider errors retried by the shared
retry layer, each attempt bounded by a timeout),
read the reply (repaired, or re-asked a bounded number of times), and return a Verdict. A reply that
never becomes a valid score returns a failure Verdict (score None, `error` set): never a guessed score.

No database access here, so workers can run it in threads; the panel persists results."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from odcv_tui.core.errors import ProviderError
from odcv_tui.core.retry import RetryPolicy, call_with_retries
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.secrets import redact
from odcv_tui.core.types import FileChange, RunRecord, Step, Verdict, trajectory_hash
from odcv_tui.judge.prompt import PROMPT_VERSION, REPLY_FORMAT, ReplyError, build_messages, parse_reply
from odcv_tui.judge.rubric import Rubric


class CompletionLike(Protocol):
    text: str
    finish_reason: str
    tokens_in: int
    tokens_out: int
    cost: float


class Completer(Protocol):
    """A text model (see odcv_tui.llm.complete.LiteLLMCompleter)."""

    model: str

    def complete(self, messages: list[dict[str, Any]]) -> CompletionLike: ...


@dataclass(frozen=True)
class JudgeSpec:
    name: str  # what verdicts.judge records (an alias such as `gpt55`, or the model route itself)
    model: str  # the litellm route the call goes to
    kind: Literal["llm", "self"] = "llm"


@dataclass(frozen=True)
class JudgeSettings:
    provider_retries: int = 2  # extra attempts after a timeout / rate limit / 5xx
    reask: int = 1  # extra calls after an unreadable or invalid reply (repairs are tried first, free)
    backoff: float = 2.0  # seconds before the first provider retry; doubles each time
    timeout: float | None = None  # seconds per request; None: the completer's own (--model-timeout)


def content_hash(steps: list[Step], changes: list[FileChange]) -> str:
    """The trajectory hash extended with the file changes, since the judge sees both (a replay that adds
    diffs to an imported run must not hit a cache entry made without them)."""
    h = hashlib.sha256(trajectory_hash(steps).encode())
    for c in changes:
        h.update(json.dumps([c.step_idx, c.path, c.kind, c.diff, c.sha_after, c.protected]).encode())
    return h.hexdigest()[:16]


def cache_key(steps: list[Step], changes: list[FileChange], model: str, rubric: Rubric) -> str:
    """(trajectory + diffs, judge model, rubric version, prompt version) -> key. The judge's display
    name is left out on purpose: the same model under two names gives the same answer at temperature 0."""
    raw = "|".join([content_hash(steps, changes), model, rubric.key, PROMPT_VERSION])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def judge_one(run: RunRecord, steps: list[Step], changes: list[FileChange], rubric: Rubric,
              spec: JudgeSpec, completer: Completer, *, scenario: Scenario | None = None,
              settings: JudgeSettings | None = None,
              cancelled: Callable[[], bool] = lambda: False) -> Verdict:
    settings = settings or JudgeSettings()
    messages: list[dict[str, Any]] = build_messages(run, steps, changes, rubric, scenario)
    valid_steps = {s.idx for s in steps}
    base = {"run_id": run.id, "judge": spec.name, "kind": spec.kind, "rubric_version": rubric.key,
            "cache_key": cache_key(steps, changes, spec.model, rubric)}
    tokens, cost = 0, 0.0
    last: ReplyError | None = None
    for attempt in range(settings.reask + 1):
        try:
            comp = _call(completer, messages, settings, cancelled)
        except Exception as exc:  # noqa: BLE001 - every provider failure becomes a recorded failure
            what = _short(exc) if isinstance(exc, ProviderError) else f"{type(exc).__name__}: {_short(exc)}"
            return Verdict(**base, score=None, error=f"provider: {what}", tokens=tokens, cost=cost)
        tokens += comp.tokens_in + comp.tokens_out
        cost += comp.cost
        try:
            parsed = parse_reply(comp.text, comp.finish_reason, valid_steps)
        except ReplyError as err:
            last = err
            # Show the judge its own reply and what was wrong: a cheap, bounded second chance.
            messages = messages + [
                {"role": "assistant", "content": comp.text or ""},
                {"role": "user", "content": f"Your reply could not be used ({err}). {REPLY_FORMAT}"},
            ]
            continue
        note = " [reply repaired]" if parsed.repaired else ""
        note += f" [after {attempt} re-ask(s)]" if attempt else ""
        return Verdict(**base, score=float(parsed.score), reasoning=parsed.reasoning + note,
                       cited_steps=parsed.cited_steps, tokens=tokens, cost=cost)
    assert last is not None
    return Verdict(**base, score=None, error=f"{last.kind}: {last} ({settings.reask + 1} attempts)",
                   tokens=tokens, cost=cost)


def _call(completer: Completer, messages: list[dict[str, Any]], settings: JudgeSettings,
          cancelled: Callable[[], bool]) -> CompletionLike:
    """The shared retry layer (core/retry.py): retryable provider failures back off (Retry-After honoured),
    the rest fail at once; each attempt is bounded by the completer's timeout (+ grace) even if the client
    ignores it, so a hung judge holds its job for at most attempts x timeout."""
    timeout = settings.timeout or float(getattr(completer, "timeout", 0) or 0) or RetryPolicy().timeout
    own = getattr(getattr(completer, "settings", None), "retries", None)  # --model-option JUDGE retries=N
    policy = RetryPolicy(timeout=timeout, retries=own if isinstance(own, int) else settings.provider_retries,
                         backoff=settings.backoff)
    return call_with_retries(lambda: completer.complete(messages), policy, cancelled=cancelled)


def _short(exc: BaseException, n: int = 200) -> str:
    text = redact(" ".join(str(exc).split()))
    return text[:n] + ("..." if len(text) > n else "")
