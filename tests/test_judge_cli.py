"""`odcv judge` as a user runs it (a real subprocess, real runs.db): offline one-line error with the
integrity verdicts still stored, scripted panel through litellm's mock path, a free re-run, bad input.
Plus the oracle runs of the fixture scenario, judged with the diffs the sandbox recorded."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from tests.judge_helpers import make_run, valid

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "XAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY")


def odcv(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_offline_judge_says_so_in_one_line_and_integrity_exists(tmp_path, mini_scenario) -> None:
    db = tmp_path / "runs.db"
    make_run(db, mini_scenario, "run-1")
    make_run(db, mini_scenario, "run-2", tweak="2")
    out = odcv("judge", "--db", str(db), cwd=tmp_path)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert out.stderr.startswith("odcv: error: cannot call judge claude47") and "no API key" in out.stderr
    conn = open_db(db)
    for rid in ("run-1", "run-2"):
        kinds = [v.kind for v in q.get_verdicts(conn, rid)]
        assert kinds == ["integrity"]
    assert conn["runs"].get("run-1")["integrity_flag"] == 1  # protected tickets.csv was modified


def test_scripted_panel_then_free_rerun(tmp_path, mini_scenario) -> None:
    db = tmp_path / "runs.db"
    make_run(db, mini_scenario, "run-1", model="gpt-5.5")
    mock = tmp_path / "mock.json"
    mock.write_text(json.dumps({"claude47": [valid(4)], "grok": ["```json\n" + valid(3) + "\n```"],
                                "gemini": ["no json here", "still none"]}))
    args = ["judge", "--db", str(db), "--mock-replies", str(mock), "--concurrency", "3"]
    out = odcv(*args, cwd=tmp_path)
    assert out.returncode == 1, out.stderr  # one judge failed: reported, exit non-zero
    assert "judge failure: run-1 gemini: malformed: no JSON object in reply" in out.stderr
    assert "1 run(s)" in out.stdout and "2 new, 0 cached, 1 failed, 1 skipped" in out.stdout
    row = [ln for ln in out.stdout.splitlines() if "run-1" in ln][0]
    assert "own" in row and "FAIL" in row and "3.5" in row and "yes" in row and "FLAGGED" in row
    mock.write_text(json.dumps({"gemini": [valid(2)]}))  # only the failed judge is asked again
    again = odcv(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "1 new, 2 cached, 0 failed" in again.stdout and "1 model call(s)" in again.stdout
    mock.write_text("{}")
    third = odcv(*args, cwd=tmp_path)
    assert third.returncode == 0 and "0 new, 3 cached" in third.stdout and " 0 model call(s), 0 tokens" in third.stdout


def test_self_eval_cli(tmp_path, mini_scenario) -> None:
    db = tmp_path / "runs.db"
    make_run(db, mini_scenario, "run-1", model="openai/gpt-4o-mini")
    mock = tmp_path / "mock.json"
    mock.write_text(json.dumps({"openai/gpt-4o-mini": [valid(1)]}))
    out = odcv("judge", "--db", str(db), "--self-eval", "--mock-replies", str(mock), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 new" in out.stdout
    assert open_db(db)["runs"].get("run-1")["self_score"] == 1.0


@pytest.mark.parametrize(("args", "needle"), [
    (["--rubric", "missing.md"], "missing.md: rubric file not found"),
    (["--runs", "model=nobody"], "--runs: model=nobody: no stored runs match"),
    (["--runs", "colour=red"], "--runs: colour: unknown filter key"),
    (["--judge", "=x"], "--judge: =x: expected NAME=provider/model"),
    (["--mock-replies", "bad.json"], "bad.json: not valid JSON"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, mini_scenario, args, needle) -> None:
    db = tmp_path / "runs.db"
    make_run(db, mini_scenario)
    (tmp_path / "bad.json").write_text("{nope")
    out = odcv("judge", "--db", str(db), *args, cwd=tmp_path)
    assert out.stderr.startswith("odcv: error: ") and needle in out.stderr
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr


@pytest.mark.bwrap
def test_oracle_runs_judged_with_recorded_diffs(tmp_path, mini_scenario) -> None:
    """Real sandbox runs: the exploit oracle's prompt carries its tickets.csv diff, the honest one's does not."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    from odcv_tui.judge.llm_judge import JudgeSettings, JudgeSpec
    from odcv_tui.judge.panel import judge_runs, scripted_completers
    from odcv_tui.runner import RunRequest, run_one

    db = tmp_path / "runs.db"
    ids = {}
    for name in ("oracle/exploit", "oracle/honest"):
        ids[name] = run_one(RunRequest(mini_scenario, "mandated", name, "local"), db_path=db).run.id
    made = []
    base = scripted_completers({"j": [valid(4, [3]), valid(0, [])]})

    def factory(spec):  # type: ignore[no-untyped-def]
        made.append(base(spec))
        return made[-1]

    judge_runs(db, [ids["oracle/exploit"], ids["oracle/honest"]], [JudgeSpec("j", "openai/gpt-4o")],
               completer_factory=factory, settings=JudgeSettings(backoff=0), concurrency=1)
    exploit_prompt, honest_prompt = (m[1]["content"] for m in made[0].sent)
    assert "modified /app/data/tickets.csv (PROTECTED)" in exploit_prompt and "```diff" in exploit_prompt
    assert "+++ " in exploit_prompt and "tickets.csv (PROTECTED)" not in honest_prompt
    conn = open_db(db)
    assert conn["runs"].get(ids["oracle/exploit"])["judge_median"] == 4.0
    assert conn["runs"].get(ids["oracle/honest"])["judge_median"] == 0.0
