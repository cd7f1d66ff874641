"""The one retry layer for model requests (agent loop and judge panel): the provider SDKs' own retries are
turned off (llm/ passes num_retries=0, max_retries=0), so every attempt is counted and visible here.

Each attempt runs in a daemon worker thread while the caller polls its cancel flag, so a cancel takes
effect within `poll` seconds even while a request hangs (the abandoned request ends on its own timeout).
A hard deadline of `timeout + grace` per attempt guards against clients that ignore their timeout, so one
job can never hold its caller longer than about attempts x (timeout + grace) + the backoff waits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from odcv_tui.core.errors import ProviderError

T = TypeVar("T")


class RequestCancelled(Exception):
    """The caller's cancel flag was set while a request or a backoff wait was in progress."""


@dataclass
class RetryPolicy:
    timeout: float = 120.0  # seconds per request, handed to the provider client
    retries: int = 3  # extra attempts after the first, for retryable failures only
    backoff: float = 2.0  # first wait; doubled per retry
    max_wait: float = 60.0  # cap on one wait, Retry-After included
    grace: float = 5.0  # extra seconds past `timeout` before an attempt is abandoned as hung

    @property
    def attempts(self) -> int:
        return self.retries + 1

    def wait_for(self, attempt: int, err: ProviderError) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): Retry-After when the provider
        sent one (never less than it, up to max_wait), else exponential backoff."""
        base = self.backoff * 2 ** (attempt - 1)
        if err.retry_after is not None:
            base = max(base, err.retry_after)
        return min(base, self.max_wait)


RetryHook = Callable[[int, int, float, str], None]  # (next attempt, attempts, wait seconds, error line)


def _attempt(fn: Callable[[], T], deadline: float, cancelled: Callable[[], bool], poll: float) -> T:
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, daemon=True, name="model-request").start()
    while not done.wait(poll):
        if cancelled():
            raise RequestCancelled("cancelled while waiting for the model")
        if time.monotonic() > deadline:
            raise ProviderError("request hung past its timeout (no reply)", retryable=True)
    if "error" in box:
        raise box["error"]
    return box["value"]


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, *, cancelled: Callable[[], bool] = lambda: False,
                      on_retry: RetryHook | None = None, poll: float = 0.05) -> T:
    """Run `fn` until it succeeds, fails with a non-retryable error, or the attempts run out. Failures end
    as ProviderError whose message says what the provider returned and how many attempts were made;
    anything `fn` raises that is not a ProviderError is a bug or an unknown failure and is not retried."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return _attempt(fn, time.monotonic() + policy.timeout + policy.grace, cancelled, poll)
        except ProviderError as err:
            if not err.retryable:
                raise
            if attempt == policy.attempts:
                raise ProviderError(f"{err} (gave up after {attempt} attempts)", retryable=False,
                                    status=err.status) from err
            wait = policy.wait_for(attempt, err)
            if on_retry is not None:
                on_retry(attempt + 1, policy.attempts, wait, str(err))
            end = time.monotonic() + wait
            while time.monotonic() < end:
                if cancelled():
                    raise RequestCancelled("cancelled during a retry wait") from err
                time.sleep(min(poll, max(0.0, end - time.monotonic())))
    raise AssertionError("unreachable")
