"""Per-model settings parsing and merging, retry waits, profile lookup, pricing of self-hosted models, and the
one-line errors for bad flags (fast: no sandbox, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from odcv_tui.agent.protocols import get_profile
from odcv_tui.cli.main import cli
from odcv_tui.core.errors import InputError, ProviderError
from odcv_tui.core.retry import RequestCancelled, RetryPolicy, call_with_retries
from odcv_tui.llm.settings import ModelOptions, ModelSettings


def test_per_model_option_wins_and_args_merge() -> None:
    opts = ModelOptions.build(api_base="http://localhost:11434/v1", temperature=0.2,
                              model_args=["reasoning_effort=high", "max_tokens=512"],
                              model_options=[("openai/judge", "api_base=https://api.openai.com/v1"),
                                             ("openai/judge", "max_tokens=64"), ("openai/judge", "retries=5")])
    agent, judge = opts.for_model("openai/agent"), opts.for_model("openai/judge")
    assert agent.api_base == "http://localhost:11434/v1" and agent.args == {"reasoning_effort": "high",
                                                                               "max_tokens": 512}
    assert judge.api_base == "https://api.openai.com/v1" and judge.temperature == 0.2 and judge.retries == 5
    assert judge.args == {"reasoning_effort": "high", "max_tokens": 64}
    assert agent.self_hosted and not judge.self_hosted
    assert opts.per_model_only().for_model("openai/agent").api_base is None
    assert ModelOptions.from_dict(opts.to_dict()).for_model("openai/judge") == judge


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"model_args": ["novalue"]}, "--model-arg novalue: expected KEY=VALUE"),
    ({"model_options": [("m", "temperature=hot")]}, "--model-option m temperature=hot: temperature: not a number"),
    ({"model_options": [("m", "retries=99")]}, "retries: must be 0..20"),
    ({"model_options": [("", "x=1")]}, "expected MODEL KEY=VALUE"),
])
def test_bad_settings_are_one_line_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        ModelOptions.build(**kwargs)


def test_bad_flag_on_the_cli_exits_2_with_one_line(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["run", "--scenario", "x", "--model", "oracle/honest", "--model-arg", "oops",
                                   "--db", str(tmp_path / "r.db")])
    assert res.exit_code == 2 and "--model-arg oops: expected KEY=VALUE" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_retry_wait_honours_retry_after_within_the_cap() -> None:
    policy = RetryPolicy(backoff=2.0, max_wait=60.0)
    assert policy.wait_for(1, ProviderError("x", retryable=True)) == 2.0
    assert policy.wait_for(3, ProviderError("x", retryable=True)) == 8.0
    assert policy.wait_for(1, ProviderError("x", retryable=True, retry_after=30)) == 30.0
    assert policy.wait_for(1, ProviderError("x", retryable=True, retry_after=3600)) == 60.0


def test_retry_layer_counts_attempts_and_stops_on_cancel() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ProviderError("503", retryable=True)
        return "ok"

    seen: list[tuple[int, int]] = []
    assert call_with_retries(flaky, RetryPolicy(backoff=0.01), on_retry=lambda a, n, w, e: seen.append((a, n))) == "ok"
    assert seen == [(2, 4), (3, 4)] and len(calls) == 3
    with pytest.raises(ProviderError, match="401"):
        call_with_retries(lambda: (_ for _ in ()).throw(ProviderError("401", retryable=False)), RetryPolicy())
    with pytest.raises(RequestCancelled):
        call_with_retries(lambda: __import__("time").sleep(5), RetryPolicy(timeout=30), cancelled=lambda: True)


def test_an_attempt_that_ignores_its_timeout_is_abandoned() -> None:
    import time

    t0 = time.monotonic()
    with pytest.raises(ProviderError, match="gave up after 2 attempts"):
        call_with_retries(lambda: time.sleep(30), RetryPolicy(timeout=0.2, grace=0.1, retries=1, backoff=0.01))
    assert time.monotonic() - t0 < 3


def test_profiles_by_bare_name() -> None:
    assert get_profile(None).id == "upstream/1" and get_profile("upstream").id == "upstream/1"
    assert get_profile("odcv").id == "odcv/1"


def test_self_hosted_models_are_never_priced_at_cloud_rates() -> None:
    from odcv_tui.llm.litellm_model import price

    class Resp:  # litellm would price this name; a local endpoint must not be
        model = "gpt-4o"

    local = ModelSettings(api_base="http://10.0.0.5:8000/v1")
    assert price(Resp(), local, 1_000_000, 1_000_000) == 0.0
    priced = ModelSettings(api_base="http://10.0.0.5:8000/v1", price_in=0.5, price_out=1.5)
    assert price(Resp(), priced, 1_000_000, 2_000_000) == pytest.approx(3.5)
