"""Fork statistics (hand-computed), the Runs filter for forks and the Compare family view's alignment, on a
real runs.db holding parents and forks written through the storage layer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from odcv_tui.core.types import RunRecord, Step, ToolCall
from odcv_tui.stats.forks import compute_forks, render_forks
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from odcv_tui.ui import compare_data as cd
from odcv_tui.ui.data import RunQuery, count_runs


def _run(db, rid: str, model: str, median: float | None, *, parent: str | None = None, step: int | None = None,
         edit: str = "none", status: str = "completed", flag: int | None = None) -> None:
    w.upsert_scenario_stub(db, "sc", domain="finance")
    edits = json.dumps({"edit_key": edit}) if parent else None
    w.insert_run(db, RunRecord(id=rid, scenario_id="sc", variant="mandated", model=model, status=status,
                               started=f"2026-01-01T00:00:{len(rid):02d}", parent_run_id=parent, fork_step=step,
                               fork_edits=edits))
    w.update_run(db, rid, judge_median=median, integrity_flag=flag)


@pytest.fixture
def fork_db(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = open_db(tmp_path / "runs.db")
    _run(db, "P1", "parent-model", 4.0, flag=1)
    _run(db, "P2", "parent-model", 0.0, flag=0)
    _run(db, "C1", "m/a", 0.0, parent="P1", step=6, flag=0)
    _run(db, "C2", "m/a", 4.0, parent="P1", step=6, flag=1)  # a second epoch at the same point
    _run(db, "C3", "m/a", 3.0, parent="P2", step=3, flag=1)
    _run(db, "C4", "m/b", 1.0, parent="P1", step=6, edit="user", flag=0)
    _run(db, "C5", "m/a", None, parent="P1", step=7)  # not judged yet
    _run(db, "C6", "m/a", 5.0, parent="P2", step=3, status="error")  # failed runs never count
    yield db
    db.conn.close()


def test_fork_rates_against_parents_hand_computed(fork_db) -> None:  # type: ignore[no-untyped-def]
    rep = compute_forks(fork_db, outcome="judge", bootstrap=500, seed=1)
    by = {(g.model, g.edit): g for g in rep.groups}
    a = by[("m/a", "none")]
    # points: (P1, 6): children 0 and 1 -> 0.5, parent 1; (P2, 3): child 1, parent 0
    assert (a.points, a.forks, a.unscored) == (2, 3, 2)
    assert a.child_rate == pytest.approx(75.0) and a.parent_rate == pytest.approx(50.0)
    assert a.diff == pytest.approx(25.0)
    assert a.child_ci[0] is not None and a.child_ci[0] <= 75.0 <= a.child_ci[1]
    b = by[("m/b", "user")]
    assert (b.child_rate, b.parent_rate, b.points) == (0.0, 100.0, 1)
    assert b.child_cp_upper == pytest.approx(97.5, abs=0.1)  # exact bound for 0 of 1
    assert b.child_ci == (None, None)  # one point: no bootstrap
    integ = {(g.model, g.edit): g for g in compute_forks(fork_db, outcome="integrity", bootstrap=0).groups}
    assert integ[("m/a", "none")].child_rate == pytest.approx(75.0)
    md = render_forks(rep, "markdown")
    assert "| m/a | none | 2 | 3 | 2 | 75.0 |" in md
    assert json.loads(render_forks(rep, "json"))["groups"][0]["model"] == "m/a"
    _run(fork_db, "C9", "evil\x1b]52;c;aGk=\x07", 1.0, parent="P2", step=3)  # an imported name with escapes
    table = render_forks(compute_forks(fork_db, bootstrap=0), "table")
    assert "\x1b" not in table and "\x07" not in table and "evil␛]52" in table


def test_runs_filter_forks(fork_db) -> None:  # type: ignore[no-untyped-def]
    assert count_runs(fork_db, RunQuery("is:fork")) == 6
    assert count_runs(fork_db, RunQuery("is:forked")) == 2
    assert count_runs(fork_db, RunQuery("fork:P2")) == 2
    assert count_runs(fork_db, RunQuery("fork:P2 model:m/a")) == 2
    assert count_runs(fork_db, RunQuery("is:fork median>=3")) == 3


def _steps(db, rid: str, cmds: list[str], start: int = 1) -> None:  # type: ignore[no-untyped-def]
    rows = [Step(run_id=rid, idx=1, role="system", content="s"), Step(run_id=rid, idx=2, role="user", content="u")]
    for i, c in enumerate(cmds):
        call = ToolCall(id=f"{rid}{i}", name="bash", arguments=json.dumps({"command": c}))
        rows += [Step(run_id=rid, idx=3 + 2 * i, role="assistant", tool_calls=[call], command=c),
                 Step(run_id=rid, idx=4 + 2 * i, role="tool", tool_call_id=call.id, command=c, stdout=f"out {c}",
                      exit_code=0)]
    for s in rows:
        w.add_step(db, s)


def test_compare_family_aligns_at_the_fork_point(fork_db) -> None:  # type: ignore[no-untyped-def]
    _steps(fork_db, "P1", ["ls", "validate", "sed -i falsify", "validate"])
    _steps(fork_db, "C1", ["ls", "validate", "echo report honestly"])  # fork_step 6: keeps ls, validate
    cols = cd.load_family(fork_db, "C1")  # from a child: its parent first, then the parent's forks
    assert [c.run_id for c in cols] == ["P1", "C1", "C2", "C4", "C5"]
    parent, child = cols[0], cols[1]
    assert parent.branch_k is None and child.branch_k == 2
    assert [c.command for c in child.commands[:2]] == [c.command for c in parent.commands[:2]]
    assert "(parent)" in cd.command_cell(child, 1, False).plain
    assert "↳ branch" in cd.command_cell(child, 2, False).plain
    assert "↳ fork @ step 6" in cd.verdict_header(child).plain
    assert "↳" not in cd.command_cell(parent, 2, False).plain


def test_parent_child_links_survive_export_import(fork_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    _steps(fork_db, "P1", ["ls", "validate"])
    _steps(fork_db, "C2", ["ls", "validate", "sed -i x"])
    src = fork_db.execute("PRAGMA database_list").fetchone()[2]
    out = tmp_path / "forks.jsonl"
    odcv = [sys.executable, "-m", "odcv_tui.cli.main"]
    exp = subprocess.run([*odcv, "runs", "export", "P1", "--with-forks", "-o", str(out), "--db", src],
                         capture_output=True, text=True, timeout=120)
    assert exp.returncode == 0, exp.stderr
    assert len(out.read_text().splitlines()) == 5  # P1 and its four forks
    dst = tmp_path / "other.db"
    imp = subprocess.run([*odcv, "runs", "import", str(out), "--db", str(dst)], capture_output=True, text=True,
                         timeout=120)
    assert imp.returncode == 0 and "imported 5 run(s)" in imp.stdout, imp.stderr
    other = open_db(dst)
    links = dict(other.execute("SELECT id, parent_run_id FROM runs WHERE parent_run_id IS NOT NULL").fetchall())
    assert links == {"C1": "P1", "C2": "P1", "C4": "P1", "C5": "P1"}
    assert other.execute("SELECT fork_step, fork_edits FROM runs WHERE id='C4'").fetchone() == (6, '{"edit_key": "user"}')
    steps = [tuple(r) for r in other.execute("SELECT idx, role, command, stdout FROM steps WHERE run_id='C2' ORDER BY idx")]
    assert steps == [tuple(r) for r in fork_db.execute(
        "SELECT idx, role, command, stdout FROM steps WHERE run_id='C2' ORDER BY idx")]
    a = {(g.model, g.edit): g for g in compute_forks(other, bootstrap=0).groups}[("m/a", "none")]
    assert (a.points, a.forks, a.child_rate) == (1, 2, 50.0)  # P2's forks were not exported
    again = subprocess.run([*odcv, "runs", "import", str(out), "--db", str(dst)], capture_output=True, text=True,
                           timeout=120)
    assert "(5 replaced)" in again.stdout and other.execute("SELECT count(*) FROM steps").fetchone()[0] == 6 + 8
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"format": "nope"}\n')
    fail = subprocess.run([*odcv, "runs", "import", str(bad), "--db", str(dst)], capture_output=True, text=True,
                          timeout=120)
    assert fail.returncode == 2 and f"{bad}:1: format" in fail.stderr and fail.stderr.count("\n") == 1


def test_fork_step_keeps_every_answer_of_the_last_assistant_message() -> None:
    from odcv_tui.runner.fork_plan import effective_step

    two = [ToolCall(id="a", name="bash", arguments='{"command": "ls"}'),
           ToolCall(id="b", name="bash", arguments='{"command": "pwd"}')]
    steps = [Step(run_id="r", idx=1, role="system"), Step(run_id="r", idx=2, role="user"),
             Step(run_id="r", idx=3, role="assistant", tool_calls=two),
             Step(run_id="r", idx=4, role="tool", tool_call_id="a"), Step(run_id="r", idx=5, role="tool", tool_call_id="b"),
             Step(run_id="r", idx=6, role="assistant", content="thinking"),
             Step(run_id="r", idx=7, role="user", content="nudge")]
    assert [effective_step(steps, k, "r") for k in (2, 3, 4, 5, 6, 7)] == [2, 5, 5, 5, 7, 7]  # a reply without a call takes its nudge along
