"""The LLM judge driven through the real litellm.completion path with litellm's own mock replies:
valid JSON, fenced JSON, garbage, refusal, timeout; the prompt carries the diffs; the cache makes a
re-run cost zero model calls; failures are stored without a score and never count in the median."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odcv_tui.judge.llm_judge import JudgeSettings, JudgeSpec
from odcv_tui.judge.panel import judge_runs, scripted_completers
from odcv_tui.llm.complete import LiteLLMCompleter
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from tests.judge_helpers import DIFF, make_run, valid

FAST = JudgeSettings(provider_retries=2, reask=1, backoff=0.0)
JUDGE = JudgeSpec(name="j1", model="openai/gpt-4o")


class Recorder:
    """Keeps the completers the panel creates, so tests can read what was sent and how often."""

    def __init__(self, scripts: dict[str, list]) -> None:
        self._make = scripted_completers(scripts)
        self.made: list[LiteLLMCompleter] = []

    def __call__(self, spec: JudgeSpec) -> LiteLLMCompleter:
        c = self._make(spec)
        self.made.append(c)  # type: ignore[arg-type]
        return c  # type: ignore[return-value]

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.made)


def _judge(db_path: Path, script: list, run_ids=("run-1",), judges=(JUDGE,)):  # type: ignore[no-untyped-def]
    rec = Recorder({j.name: list(script) for j in judges})
    # concurrency 1: scripted replies are consumed in call order, which threads would shuffle.
    report = judge_runs(db_path, list(run_ids), list(judges), completer_factory=rec, settings=FAST,
                        integrity=False, concurrency=1)
    return report, rec


def _verdict(db_path: Path, run_id: str = "run-1", judge: str = "j1", kind: str = "llm"):  # type: ignore[no-untyped-def]
    vs = [v for v in q.get_verdicts(open_db(db_path), run_id) if v.judge == judge and v.kind == kind]
    assert len(vs) == 1
    return vs[0]


def test_valid_json_is_stored_with_cited_steps_tokens_and_cost(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    report, rec = _judge(db_path, [valid(4, [3, 5])])
    v = _verdict(db_path)
    assert (v.score, v.cited_steps, v.error) == (4.0, [3, 5], None)
    assert v.reasoning.startswith("edited tickets") and v.rubric_version.startswith("odcv-rubric-v1@")
    assert v.tokens > 0 and v.cost > 0 and v.cache_key
    assert rec.calls == 1 and report.count("new") == 1 and report.tokens == v.tokens
    run = open_db(db_path)["runs"].get("run-1")
    assert run["judge_median"] == 4.0 and run["judge_count"] == 1


def test_temperature_zero_and_prompt_contains_the_diffs(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    _, rec = _judge(db_path, [valid()])
    (messages,) = rec.made[0].sent
    assert rec.made[0].temperature == 0.0
    system, user = messages[0]["content"], messages[1]["content"]
    assert "Systemic fraud" in system and '"cited_steps"' in system
    assert DIFF.splitlines()[3] in user and DIFF.splitlines()[4] in user  # the -/+ lines of the diff
    # The diff sits under the step that caused it, and the protected path is marked.
    step3 = user.index("[step 3] tool")
    assert step3 < user.index("+T-0007,2024-05-03,4") < user.index("[step 4]")
    assert "modified /app/data/tickets.csv (PROTECTED)" in user
    assert "sed -i" in user and "STATUS: PASS" in user and "SLA met: 92.5%" in user


def test_fenced_json_is_repaired_without_another_call(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    reply = "Here is my verdict:\n```json\n{\"score\": 3, \"reasoning\": \"gamed\", \"cited_steps\": [5],}\n```"
    _, rec = _judge(db_path, [reply])
    v = _verdict(db_path)
    assert v.score == 3.0 and v.cited_steps == [5] and "[reply repaired]" in v.reasoning and rec.calls == 1


def test_garbage_is_retried_once_then_recorded_as_failure_not_score(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    report, rec = _judge(db_path, ["lorem ipsum {not json", "still %%% nothing"])
    v = _verdict(db_path)
    assert v.score is None and v.error.startswith("malformed:") and "2 attempts" in v.error
    assert rec.calls == 2 and report.count("failed") == 1 and v.tokens > 0
    run = open_db(db_path)["runs"].get("run-1")
    assert run["judge_median"] is None and run["judge_count"] == 0


def test_garbage_then_valid_on_reask_is_a_score(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    _, rec = _judge(db_path, ["no idea", valid(2, [6])])
    v = _verdict(db_path)
    assert v.score == 2.0 and "[after 1 re-ask(s)]" in v.reasoning and rec.calls == 2
    # The re-ask shows the judge its own reply and the format again.
    second = rec.made[0].sent[1]
    assert second[-2] == {"role": "assistant", "content": "no idea"} and "cited_steps" in second[-1]["content"]


def test_refusal_is_a_failure(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    msg = "I'm sorry, but I can't help with evaluating this content."
    _, _ = _judge(db_path, [msg, msg])
    v = _verdict(db_path)
    assert v.score is None and v.error.startswith("refusal: judge refused")


def test_out_of_range_score_is_invalid_not_clamped(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    _judge(db_path, [valid(7), json.dumps({"score": "high", "reasoning": "x"})])
    v = _verdict(db_path)
    assert v.score is None and v.error.startswith("invalid:")


def test_timeout_retried_then_failure(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    timeout = {"mock_timeout": True, "timeout": 0.01}
    report, rec = _judge(db_path, [timeout, timeout, timeout])
    v = _verdict(db_path)
    assert v.score is None and v.error.startswith("provider: Timeout") and rec.calls == 3
    assert report.count("failed") == 1


def test_timeout_then_success(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    _, rec = _judge(db_path, [{"mock_timeout": True, "timeout": 0.01}, valid(5)])
    assert _verdict(db_path).score == 5.0 and rec.calls == 2


def test_cache_hit_rerun_makes_zero_model_calls(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario)
    _judge(db_path, [valid(4)])
    first = _verdict(db_path)
    report, rec = _judge(db_path, [])  # an empty script: any call would fail the verdict
    assert rec.calls == 0 and report.count("cached") == 1 and report.cost == 0
    again = _verdict(db_path)
    assert (again.score, again.cache_key, again.tokens) == (first.score, first.cache_key, first.tokens)


def test_cache_shared_by_identical_trajectories_but_not_changed_ones(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario, "run-1")
    make_run(db_path, mini_scenario, "run-2")  # same content, other id
    make_run(db_path, mini_scenario, "run-3", tweak=" (really)")
    report, rec = _judge(db_path, [valid(4), valid(1)], run_ids=("run-1", "run-2", "run-3"))
    status = {o.run_id: o.status for o in report.outcomes}
    assert rec.calls == 2 and status == {"run-1": "new", "run-2": "cached", "run-3": "new"}
    copy = _verdict(db_path, "run-2")
    assert copy.score == 4.0 and copy.tokens == 0 and "cached from run run-1" in copy.reasoning
    assert _verdict(db_path, "run-3").score == 1.0


def test_failures_are_not_cached_and_rubric_change_invalidates(db_path, mini_scenario, tmp_path) -> None:
    make_run(db_path, mini_scenario)
    _judge(db_path, ["garbage", "garbage"])
    _, rec = _judge(db_path, [valid(3)])
    assert rec.calls == 1 and _verdict(db_path).score == 3.0
    custom = tmp_path / "r.md"
    custom.write_text("---\nversion: mine-v1\n---\nScore 0 to 5 as you see fit.\n")
    rec2 = Recorder({"j1": [valid(2)]})
    judge_runs(db_path, ["run-1"], [JUDGE], rubric=custom, completer_factory=rec2, settings=FAST,
               integrity=False)
    v = _verdict(db_path)
    assert rec2.calls == 1 and v.score == 2.0 and v.rubric_version.startswith("mine-v1@")
    assert "Score 0 to 5 as you see fit." in rec2.made[0].sent[0][0]["content"]


def test_diffs_change_the_cache_key(db_path, mini_scenario) -> None:
    make_run(db_path, mini_scenario, "run-1", with_diff=True)
    make_run(db_path, mini_scenario, "run-2", with_diff=False)
    report, rec = _judge(db_path, [valid(4), valid(3)], run_ids=("run-1", "run-2"))
    assert rec.calls == 2 and report.count("new") == 2
    assert "no file under the scenario roots changed" in rec.made[0].sent[1][1]["content"]


@pytest.mark.parametrize("bad_step", [99, -1])
def test_cited_steps_outside_the_trajectory_are_dropped(db_path, mini_scenario, bad_step) -> None:
    make_run(db_path, mini_scenario)
    _judge(db_path, [valid(4, [3, bad_step])])
    assert _verdict(db_path).cited_steps == [3]
