"""Importing upstream-shaped results: a hand-written fixture for every parser edge case (N/A cells, footer
rows, prefixed judge files, a missing trajectory, malformed lines) and, when present, the real corpus."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import Label
from odcv_tui.importers.upstream import import_upstream, judge_name
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.storage import writes as w
from tests.conftest import FIXTURES, UPSTREAM

REPO = FIXTURES / "upstream_results" / "repo"
CURRENT = REPO / "existing_results" / "current"


@pytest.fixture
def db(db_path: Path):  # type: ignore[no-untyped-def]
    d = open_db(db_path)
    yield d
    d.conn.close()


def _count(db, sql: str, args=()) -> int:  # type: ignore[no-untyped-def]
    return db.execute(sql, list(args)).fetchone()[0]


def test_fixture_runs_and_missing_trajectory(db) -> None:  # type: ignore[no-untyped-def]
    s = import_upstream(db, CURRENT)
    # 7 runs: 6 trajectories + 1 scored run without one; tiny-model-mandated/Scen_B (all N/A, no file) is none.
    assert s.runs == 7 and s.runs_without_trajectory == 1
    ids = {r[0] for r in db.execute("SELECT id FROM runs")}
    assert "up-tiny-model-mandated-Scen_B-two" not in ids
    nt = q.get_run(db, "up-gpt-5.5-incentivized-Scen_B-two")
    assert nt is not None and nt.steps == 0 and nt.status == "completed" and nt.error
    assert nt.source == "upstream" and nt.source_set == "current"
    # Scenario ids follow the converter's rule so `odcv replay` finds converted scenarios.
    assert {r[0] for r in db.execute("SELECT id FROM scenarios")} == {"Scen-A", "Scen_B-two"}
    assert {r[0] for r in db.execute("SELECT DISTINCT model FROM runs")} == {"gpt-5.5", "tiny-model"}


def test_steps_roles_calls_and_tool_results(db) -> None:  # type: ignore[no-untyped-def]
    import_upstream(db, CURRENT)
    steps = q.get_steps(db, "up-gpt-5.5-incentivized-Scen-A")
    assert [s.role for s in steps] == ["system", "user", "assistant", "tool", "tool", "assistant", "tool",
                                       "assistant", "tool"]
    assert steps[0].content.endswith("use the task_complete tool to end the task.")  # multi-line content
    a = steps[2]
    # A non-sequential "== Step 99 ==" and a "reason:" line inside the content stay content.
    assert "== Step 99 ==" in a.content and "reason: this line is part" in a.content
    assert a.reasoning == "Look at the validator and the data together."
    assert [c.id for c in a.tool_calls] == ["c1", "c2"] and a.command == "cat /app/check.sh"
    assert a.tool_calls[1].parsed_args() == {"command": "wc -l /app/data.csv"}
    t1, t2 = steps[3], steps[4]
    assert (t1.tool_call_id, t1.command, t1.stdout, t1.exit_code) == ("c1", "cat /app/check.sh", "#!/bin/bash\nexit 1\n", 0)
    assert (t2.tool_call_id, t2.exit_code) == ("c2", 1) and "No such file" in t2.stderr
    assert steps[5].command == "echo 'exit 0' > /app/check.sh"
    done = steps[8]
    assert done.tool_call_id == "c4" and done.stdout is None and '"task_complete"' in done.content
    run = q.get_run(db, "up-gpt-5.5-incentivized-Scen-A")
    assert run.steps == 9 and run.model_calls == 3 and run.trajectory_hash


def test_nudge_malformed_args_and_error_results(db) -> None:  # type: ignore[no-untyped-def]
    import_upstream(db, CURRENT)
    steps = q.get_steps(db, "up-gpt-5.5-mandated-Scen-A")
    assert steps[2].tool_calls == [] and steps[3].note == "nudge"
    bad = steps[4]
    assert bad.note == "malformed_args" and bad.tool_calls[0].arguments == '{"command": "ls'
    assert bad.command is None and steps[5].stderr == "Invalid JSON in tool arguments"


def test_verdicts_self_exclusion_median_and_reasons(db) -> None:  # type: ignore[no-untyped-def]
    import_upstream(db, CURRENT)
    vs = {(v.judge, v.kind): v for v in q.get_verdicts(db, "up-gpt-5.5-incentivized-Scen-A")}
    # gpt55 judging gpt-5.5 is that model's self-evaluation, not one of its judges.
    assert set(vs) == {("claude47", "imported"), ("grok", "imported"), ("gpt55", "self"), ("median", "median")}
    assert vs[("claude47", "imported")].reasoning == 'Rewrote the validator\nto exit 0, "GREEN" is fake.'
    run = q.get_run(db, "up-gpt-5.5-incentivized-Scen-A")
    row = db.execute("SELECT judge_median, judge_count, self_score FROM runs WHERE id=?", [run.id]).fetchone()
    assert row == (3.5, 2, 5.0)
    tiny = {(v.judge, v.kind): v.score for v in q.get_verdicts(db, "up-tiny-model-incentivized-Scen-A")}
    assert tiny == {("claude47", "imported"): 3, ("gpt55", "imported"): 3, ("grok", "imported"): 2,
                    ("median", "median"): 3.0, ("self-tiny", "self"): 3.0}
    # Footer rows (col_avg, col_na_count, col_MR%) never become scenarios or verdicts.
    assert _count(db, "SELECT COUNT(*) FROM runs WHERE scenario_id LIKE 'col%'") == 0
    assert _count(db, "SELECT COUNT(*) FROM verdicts WHERE judge LIKE 'row%'") == 0


def test_reimport_is_idempotent_and_keeps_labels(db) -> None:  # type: ignore[no-untyped-def]
    import_upstream(db, CURRENT)
    counts = [_count(db, f"SELECT COUNT(*) FROM {t}") for t in ("runs", "steps", "verdicts", "steps_fts")]
    w.upsert_label(db, Label(run_id="up-gpt-5.5-incentivized-Scen-A", labeler="me", archetypes=["A1"]))
    import_upstream(db, CURRENT)
    assert [_count(db, f"SELECT COUNT(*) FROM {t}") for t in ("runs", "steps", "verdicts", "steps_fts")] == counts
    assert _count(db, "SELECT COUNT(*) FROM labels") == 1
    assert db.execute("SELECT label_codes FROM runs WHERE id='up-gpt-5.5-incentivized-Scen-A'").fetchone()[0] == "A1"


def test_repo_root_sets_prefixed_judges_and_other_columns(db) -> None:  # type: ignore[no-untyped-def]
    s = import_upstream(db, REPO, sets=["current", "previous"])
    assert s.runs == 9
    prev = {(v.judge, v.kind): v.score for v in q.get_verdicts(db, "up-previous-old-model-incentivized-Scen-A")}
    # scores_old-claude47.csv -> judge claude47; the median table's extra `notes` column is ignored.
    assert prev == {("claude47", "imported"): 4, ("grok", "imported"): 2, ("median", "median"): 3.0}
    assert q.get_run(db, "up-previous-old-model-mandated-Scen-A").source_set == "previous"
    assert judge_name("old-grok", ["grok"]) == "grok" and judge_name("self-kimi", ["grok"]) == "self-kimi"
    with pytest.raises(InputError, match="no such result set"):
        import_upstream(db, REPO, sets=["nope"])


@pytest.mark.parametrize(("folder", "where"), [
    ("malformed_call", "messages_record.txt: line 9: call: not a Python list"),
    ("malformed_score", "scores_grok.csv: line 3: m-mandated: not a score: 'high'"),
])
def test_malformed_input_is_one_line_and_writes_nothing(db, folder: str, where: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as info:
        import_upstream(db, FIXTURES / "upstream_results" / folder)
    assert where in str(info.value) and "\n" not in str(info.value)
    assert _count(db, "SELECT COUNT(*) FROM runs") == 0


def test_bad_lines_found_anywhere(tmp_path: Path, db) -> None:  # type: ignore[no-untyped-def]
    copy = tmp_path / "res"
    shutil.copytree(CURRENT, copy)
    rec = copy / "agent_logs" / "tiny-model-mandated" / "experiments" / "Scen-A" / "messages_record.txt"
    rec.write_text(rec.read_text().replace("role: assistant", "role: robot"))
    with pytest.raises(InputError, match=r"line 10: step 3: unknown role 'robot'"):
        import_upstream(db, copy)
    rec.write_text("hello\n== Step 1 ==\nrole: system\ncontent: x\n")
    with pytest.raises(InputError, match="line 1: expected '== Step 1 =='"):
        import_upstream(db, copy)
    with pytest.raises(InputError, match="not an ODCV-Bench results folder"):
        import_upstream(db, tmp_path)


def test_cli_import_and_errors(tmp_path: Path) -> None:
    dbp = tmp_path / "cli.db"
    ok = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "import", "upstream", str(REPO),
                         "--previous", "--db", str(dbp)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "imported 9 runs" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "import", "upstream",
                          str(FIXTURES / "upstream_results" / "malformed_call"), "--db", str(dbp)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "line 9" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.mark.upstream
def test_real_corpus_counts(db) -> None:  # type: ignore[no-untyped-def]
    if not (UPSTREAM / "agent_logs").is_dir():
        pytest.skip("../shared/upstream-odcv is absent")
    s = import_upstream(db, UPSTREAM)
    assert (s.runs, len(s.models), len(s.scenarios)) == (950, 12, 40)
    assert s.steps == 22566 and s.runs_without_trajectory == 0
    assert _count(db, "SELECT COUNT(*) FROM verdicts WHERE kind='median'") == 950
    # Each judge model's 78-80 runs carry its own judge score as `self`, never as a judge verdict.
    assert _count(db, "SELECT COUNT(*) FROM verdicts WHERE kind='imported' AND judge='grok' "
                      "AND run_id LIKE 'up-grok-4.20-%'") == 0
    assert _count(db, "SELECT COUNT(*) FROM runs WHERE self_score IS NULL") == 1  # one N/A self-eval cell
