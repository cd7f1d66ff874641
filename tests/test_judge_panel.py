"""The panel: self-exclusion, median over judges (failures excluded), self-evaluation, concurrency
limit, persist-before-callback, run filters; all through the real litellm mock path."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from odcv_tui.core.errors import InputError, OdcvError
from odcv_tui.core.types import Verdict
from odcv_tui.judge.llm_judge import JudgeSettings, JudgeSpec
from odcv_tui.judge.panel import (
    default_judges,
    is_own_model,
    judge_runs,
    panel_median,
    parse_judge,
    scripted_completers,
)
from odcv_tui.judge.runsel import select_runs
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.storage import writes as w
from tests.judge_helpers import make_run, valid

FAST = JudgeSettings(backoff=0.0)


def test_default_judges_and_parse() -> None:
    assert [j.name for j in default_judges()] == ["claude47", "gpt55", "grok", "gemini"]
    assert parse_judge("gpt55").model == "openai/gpt-5.5"
    assert parse_judge("mine=openrouter/x/y") == JudgeSpec("mine", "openrouter/x/y")
    assert parse_judge("openai/gpt-4o") == JudgeSpec("openai/gpt-4o", "openai/gpt-4o")
    with pytest.raises(InputError, match="--judge"):
        parse_judge("=openai/x")


def test_own_model_detection() -> None:
    assert is_own_model("gpt55", "gpt-5.5")  # upstream run names
    assert is_own_model("claude47", "anthropic/claude-opus-4-7")  # punctuation-insensitive
    assert is_own_model("x", "openai/gpt-4o", route="openai/gpt-4o")
    assert not is_own_model("gpt55", "gpt-5.5-mini") and not is_own_model("grok", "openai/gpt-4o")


def test_judge_never_scores_its_own_model_and_median_excludes_failures(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario, "run-1", model="gpt-5.5")
    scripts = {"claude47": [valid(2)], "grok": [valid(4)], "gemini": ["junk", "junk"],
               "gpt55": [valid(5)]}  # gpt55 must never be asked
    seen = []
    report = judge_runs(db_path, ["run-1"], default_judges(), completer_factory=scripted_completers(scripts),
                        settings=FAST, on_verdict=seen.append, integrity=False)
    status = {o.judge: o.status for o in report.outcomes}
    assert status == {"gpt55": "skipped", "claude47": "new", "grok": "new", "gemini": "failed"}
    verdicts = q.get_verdicts(open_db(db_path), "run-1")
    assert {v.judge for v in verdicts} == {"claude47", "grok", "gemini"}
    assert panel_median(verdicts, "gpt-5.5") == (3.0, 2)
    run = open_db(db_path)["runs"].get("run-1")
    assert run["judge_median"] == 3.0 and run["judge_count"] == 2
    assert len(seen) == 4 and report.calls == 4  # 1 + 1 + 2 (re-ask), none for gpt55


def test_panel_median_drops_a_stored_own_model_score() -> None:
    vs = [Verdict(run_id="r", judge=j, kind="llm", score=s) for j, s in
          [("gpt55", 5), ("claude47", 1), ("grok", 3), ("gemini", 4)]]
    vs.append(Verdict(run_id="r", judge="integrity", kind="integrity", score=5))
    assert panel_median(vs, "gpt-5.5") == (3.0, 3)
    assert panel_median(vs, "openai/gpt-4o") == (3.5, 4)


def test_self_eval_stores_self_verdicts_and_skips_non_llm_runs(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario, "run-llm", model="openai/gpt-4o-mini")
    make_run(db_path, mini_scenario, "run-oracle", model="oracle/exploit", tweak="o")
    factory = scripted_completers({"openai/gpt-4o-mini": [valid(1, [2])]})
    report = judge_runs(db_path, ["run-llm", "run-oracle"], None, self_eval=True, completer_factory=factory,
                        settings=FAST, integrity=False)
    assert {(o.run_id, o.status) for o in report.outcomes} == {("run-llm", "new"), ("run-oracle", "skipped")}
    (v,) = q.get_verdicts(open_db(db_path), "run-llm")
    assert (v.kind, v.judge, v.score) == ("self", "openai/gpt-4o-mini", 1.0)
    run = open_db(db_path)["runs"].get("run-llm")
    assert run["self_score"] == 1.0 and run["judge_median"] is None  # self scores never enter the median


def test_concurrency_limit_is_respected(db_path, mini_scenario) -> None:
    ids = [f"run-{i}" for i in range(6)]
    for i, rid in enumerate(ids):
        make_run(db_path, mini_scenario, rid, tweak=str(i))
    base = scripted_completers({"j": [{"mock_response": valid(2), "mock_delay": 0.15}] * 6})
    live, peak, lock = [0], [0], threading.Lock()

    class Counting:
        def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
            self.inner, self.model = inner, inner.model

        @property
        def calls(self) -> int:
            return self.inner.calls

        def complete(self, messages):  # type: ignore[no-untyped-def]
            with lock:
                live[0] += 1
                peak[0] = max(peak[0], live[0])
            try:
                return self.inner.complete(messages)
            finally:
                with lock:
                    live[0] -= 1

    t0 = time.monotonic()
    report = judge_runs(db_path, ids, [JudgeSpec("j", "openai/gpt-4o")], concurrency=2,
                        completer_factory=lambda s: Counting(base(s)), settings=FAST, integrity=False)
    elapsed = time.monotonic() - t0
    assert report.count("new") == 6 and report.calls == 6
    assert peak[0] == 2  # parallel, but never more than the limit
    assert elapsed < 6 * 0.15


def test_callback_runs_after_the_verdict_is_persisted(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    found = []

    def on_verdict(o) -> None:  # type: ignore[no-untyped-def]
        found.append(any(v.judge == o.judge for v in q.get_verdicts(open_db(db_path), o.run_id)))

    judge_runs(db_path, ["run-1"], [JudgeSpec("j", "openai/gpt-4o")], on_verdict=on_verdict,
               completer_factory=scripted_completers({"j": [valid(3)]}), settings=FAST, integrity=False)
    assert found == [True]


def test_missing_keys_stop_before_any_call_but_integrity_is_filled(db_path, mini_scenario, monkeypatch) -> None:
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "XAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    make_run(db_path, mini_scenario)
    with pytest.raises(OdcvError, match=r"no API key \(set ANTHROPIC_API_KEY\)"):
        judge_runs(db_path, ["run-1"], None)
    kinds = [v.kind for v in q.get_verdicts(open_db(db_path), "run-1")]
    assert kinds == ["integrity"]


def test_fully_cached_rerun_needs_no_key(db_path, mini_scenario, monkeypatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    make_run(db_path, mini_scenario)
    spec = JudgeSpec("gpt", "openai/gpt-4o")
    judge_runs(db_path, ["run-1"], [spec], completer_factory=scripted_completers({"gpt": [valid(3)]}),
               settings=FAST)
    report = judge_runs(db_path, ["run-1"], [spec])  # the real provider path, offline: all cached
    assert report.calls == 0 and report.count("cached") == 1
    make_run(db_path, mini_scenario, "run-2", tweak="new")
    with pytest.raises(OdcvError, match=r"cannot call judge gpt \(openai/gpt-4o\): no API key"):
        judge_runs(db_path, ["run-1", "run-2"], [spec])


def test_key_present_passes_the_check(monkeypatch) -> None:
    from odcv_tui.judge.panel import missing_keys

    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-a-real-key-000000")
    assert missing_keys([JudgeSpec("gpt55", "openai/gpt-5.5")]) == {}
    assert "unknown provider" in missing_keys([JudgeSpec("o", "oracle/honest")])["oracle/honest"]


def test_provider_error_text_never_stores_the_key(db_path, mini_scenario, monkeypatch) -> None:
    secret = "sk-live-THISISASECRETKEY1234567890"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    make_run(db_path, mini_scenario)
    boom = {"mock_response": Exception(f"401 invalid api key {secret}")}
    judge_runs(db_path, ["run-1"], [JudgeSpec("j", "openai/gpt-4o")], settings=FAST, integrity=False,
               completer_factory=scripted_completers({"j": [boom] * 3}))
    (v,) = q.get_verdicts(open_db(db_path), "run-1")
    assert v.score is None and v.error.startswith("provider:") and "[redacted]" in v.error
    assert secret not in v.error and secret not in Path(db_path).read_bytes().decode("latin-1")


def test_run_filters(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario, "a-1", model="openai/gpt-4o-mini")
    make_run(db_path, mini_scenario, "a-2", model="gpt-5.5")
    make_run(db_path, mini_scenario, "b-1", model="gpt-5.5")
    db = open_db(db_path)
    w.update_run(db, "b-1", status="running")
    assert select_runs(db) == ["a-1", "a-2"]  # running runs are not final
    assert select_runs(db, ["model=gpt-5.5"]) == ["a-2"]
    assert select_runs(db, ["model=gpt-5.5", "status=running"]) == ["b-1"]
    assert select_runs(db, ["a-*"]) == ["a-1", "a-2"] and select_runs(db, ["a-1,b-1"]) == ["a-1"]
    assert select_runs(db, ["scenario=test-mini-sla variant=mandated"]) == ["a-1", "a-2"]
    with pytest.raises(InputError, match="--runs: colour: unknown filter key"):
        select_runs(db, ["colour=red"])


def test_unknown_run_id_is_one_line_error(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    with pytest.raises(InputError, match="--runs: nope: no such run"):
        judge_runs(db_path, ["nope"], [JudgeSpec("j", "openai/gpt-4o")],
                   completer_factory=scripted_completers({}))


def test_cancel_stops_submitting_new_calls(db_path, mini_scenario) -> None:
    ids = [f"run-{i}" for i in range(5)]
    for i, rid in enumerate(ids):
        make_run(db_path, mini_scenario, rid, tweak=str(i))
    cancel = threading.Event()
    report = judge_runs(db_path, ids, [JudgeSpec("j", "openai/gpt-4o")], concurrency=1, cancel=cancel,
                        on_verdict=lambda o: cancel.set(), settings=FAST, integrity=False,
                        completer_factory=scripted_completers({"j": [valid(1)] * 5}))
    assert 1 <= report.calls < 5 and report.count("new") == report.calls


def test_provider_outage_trips_the_circuit_breaker(db_path, mini_scenario) -> None:
    from odcv_tui.judge.panel import CIRCUIT_BREAK

    ids = [f"run-{i}" for i in range(CIRCUIT_BREAK + 3)]
    for i, rid in enumerate(ids):
        make_run(db_path, mini_scenario, rid, tweak=str(i))
    down = {"mock_response": "litellm.InternalServerError"}
    report = judge_runs(db_path, ids, [JudgeSpec("j", "openai/gpt-4o")], concurrency=1, integrity=False,
                        settings=JudgeSettings(provider_retries=1, backoff=0.0),
                        completer_factory=scripted_completers({"j": [down] * 40}))
    assert report.count("failed") == len(ids)
    assert report.calls <= (CIRCUIT_BREAK + 2) * 2  # a few in flight when it trips, then none
    last = q.get_verdicts(open_db(db_path), ids[-1])[0]
    assert last.score is None and "consecutive provider failures" in last.error
