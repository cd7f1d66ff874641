"""Rubric files (versioned, user-editable, one-line errors), reply parsing and repair, prompt budget."""

from __future__ import annotations

import json

import pytest

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import FileChange, RunRecord, Step
from odcv_tui.judge.prompt import ReplyError, build_messages, parse_reply
from odcv_tui.judge.rubric import DEFAULT_RUBRIC, load_rubric


def test_builtin_rubric_is_versioned_and_covers_every_score() -> None:
    rb = load_rubric()
    assert rb.version == "odcv-rubric-v1" and rb.key == f"odcv-rubric-v1@{rb.digest}"
    for n in range(6):
        assert f"**{n} - " in rb.text
    assert "---" not in rb.text.splitlines()[0]  # front matter is not shown to the judge


def test_edited_rubric_changes_the_key_even_with_the_same_version(tmp_path) -> None:
    p = tmp_path / "r.md"
    p.write_text(DEFAULT_RUBRIC.read_text() + "\nExtra house rule.\n")
    assert load_rubric(p).version == load_rubric().version and load_rubric(p).key != load_rubric().key


@pytest.mark.parametrize(("text", "where"), [
    ("# no front matter\n", "line 1"),
    ("---\nscale: 0-5\n---\nbody\n", "version"),
    ("---\nversion: x\nscale: 1-10\n---\nbody\n", "scale"),
    ("---\nversion: x\n", "front matter"),
    ("---\nversion x\n---\nbody\n", "line 2"),
    ("---\nversion: x\n---\n\n", "body"),
])
def test_bad_rubric_is_one_line_naming_file_and_field(tmp_path, text, where) -> None:
    p = tmp_path / "bad.md"
    p.write_text(text)
    with pytest.raises(InputError) as err:
        load_rubric(p)
    assert str(err.value).startswith(f"{p}: {where}:") and "\n" not in str(err.value)


def test_missing_rubric_file(tmp_path) -> None:
    with pytest.raises(InputError, match="rubric file not found"):
        load_rubric(tmp_path / "nope.md")


@pytest.mark.parametrize(("reply", "score", "steps", "repaired"), [
    ('{"score": 4, "reasoning": "x", "cited_steps": [3, 5]}', 4, [3, 5], False),
    ('```json\n{"score": 3, "reasoning": "x", "cited_steps": [5]}\n```', 3, [5], True),
    ('Verdict follows. {"score": 2, "reasoning": "x", "cited_steps": [1,],} Thanks.', 2, [1], True),
    ("{'score': 5, 'reasoning': 'validator rewritten', 'cited_steps': ['step 7']}", 5, [7], True),
    ('{\u201cscore\u201d: 1, \u201creasoning\u201d: \u201cx\u201d, \u201ccited_steps\u201d: []}', 1, [], True),
    ('{"Score": "0", "Reason": "honest", "cited_steps": []}', 0, [], False),
    ('{"score": "4/5", "reasoning": "x", "cited_steps": 3}', 4, [3], False),
    ('{"score": 3.0, "reasoning": "x"}', 3, [], False),
])
def test_parse_and_repair(reply, score, steps, repaired) -> None:
    p = parse_reply(reply)
    assert (p.score, p.cited_steps, p.repaired) == (score, steps, repaired)


@pytest.mark.parametrize(("reply", "kind"), [
    ("", "malformed"),
    ("The agent clearly cheated, I'd say a four.", "malformed"),
    ("I cannot assist with evaluating this.", "refusal"),
    ('{"score": 6, "reasoning": "x"}', "invalid"),
    ('{"score": 2.5, "reasoning": "x"}', "invalid"),
    ('{"score": true, "reasoning": "x"}', "invalid"),
    ('{"reasoning": "no score"}', "invalid"),
    ("[1, 2, 3]", "malformed"),
])
def test_unreadable_replies_are_errors_not_scores(reply, kind) -> None:
    with pytest.raises(ReplyError) as err:
        parse_reply(reply)
    assert err.value.kind == kind


def test_content_filter_finish_is_a_refusal() -> None:
    with pytest.raises(ReplyError) as err:
        parse_reply("", finish_reason="content_filter")
    assert err.value.kind == "refusal"


def test_huge_outputs_are_cut_to_the_budget_but_keep_head_tail_and_diff() -> None:
    run = RunRecord(id="r", scenario_id="s", variant="mandated", model="m", status="completed")
    big = "HEAD" + "x" * 500_000 + "TAIL"
    steps = [Step(run_id="r", idx=0, role="user", content="do it"),
             Step(run_id="r", idx=1, role="tool", command="cat big", stdout=big, exit_code=0)]
    diff = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-old\n+NEWVALUE\n"
    changes = [FileChange(run_id="r", step_idx=1, path="/app/f", kind="modified", diff=diff, protected=True)]
    msgs = build_messages(run, steps, changes, load_rubric(), budget=40_000)
    total = sum(len(m["content"]) for m in msgs)
    user = msgs[1]["content"]
    assert total <= 40_000 and "HEAD" in user and "TAIL" in user and "characters omitted" in user
    assert "+NEWVALUE" in user and "modified /app/f (PROTECTED)" in user
    json.dumps(msgs)  # plain JSON-able messages
