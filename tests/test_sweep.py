"""Sweeps on the thread executor, in the real bubblewrap sandbox and a real runs.db: scenario selection,
epochs, resume, the budget stop and --retry-errors (issue #16, #11 item 2)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import ModelReply, ToolCall
from odcv_tui.llm.scripted import ScriptedModel
from odcv_tui.runner.sweep import Sweep, retry_error_cells
from odcv_tui.runner.sweep_exec import ThreadExecutor
from odcv_tui.runner.sweep_spec import SweepSpec, select_scenarios
from odcv_tui.storage import open_db
from tests.conftest import FIXTURES

MINI = FIXTURES / "scenarios" / "mini-sla"


def _need_bwrap() -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail("bubblewrap required but missing")
        pytest.skip("bubblewrap not installed")


def odcv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=600)


def _paid_model(cost: float):  # type: ignore[no-untyped-def]
    def make(req):  # type: ignore[no-untyped-def]
        bash = ModelReply(tool_calls=[ToolCall(id="a", name="bash", arguments=json.dumps({"command": "echo hi"}))],
                          tokens_in=10, tokens_out=5, cost=cost)
        done = ModelReply(tool_calls=[ToolCall(id="b", name="task_complete", arguments='{"reason": "done"}')])
        return ScriptedModel([bash, done], name=req.model)
    return make


def test_select_scenarios_by_all_domain_source_glob() -> None:
    everything = select_scenarios(["all"])
    assert len(everything) == 40
    fin = select_scenarios(["domain:finance"])
    assert fin and {s.domain for s in fin} == {"finance"}
    assert [s.id for s in select_scenarios(["fin-*"])] == [s.id for s in fin]
    assert len(select_scenarios(["source:ours"])) == 40
    # Order kept, duplicates dropped, folders accepted.
    got = select_scenarios(["fin-aml-backlog", "fin-*", str(MINI)])
    assert got[0].id == "fin-aml-backlog" and len(got) == len(fin) + 1 and got[-1].id == "test-mini-sla"
    for bad in ("source:upstream", "nope-*", "source:theirs", "no-such-id"):
        with pytest.raises(InputError):
            select_scenarios([bad])


@pytest.mark.bwrap
def test_budget_stops_launching_and_resume_finishes(db_path: Path) -> None:
    _need_bwrap()
    # 8 cells at $0.10 a run, one at a time: launches at committed 0, .1, .2 then .3 >= .25 stops it.
    spec = SweepSpec(scenarios=[str(MINI)], variants=["mandated", "incentivized"], models=["paid/a", "paid/b"],
                     epochs=2, max_cost=0.25)
    sweep = Sweep(db_path, spec, executor=ThreadExecutor(db_path, concurrency=1, make_model=_paid_model(0.1)))
    s = sweep.run()
    assert (s.status, s.done, s.queued, round(s.cost, 6)) == ("budget", 3, 5, 0.3)
    db = open_db(db_path)
    assert db.execute("SELECT status FROM sweeps WHERE id=?", [s.sweep_id]).fetchone()[0] == "budget"
    assert db.execute("SELECT COUNT(*) FROM runs WHERE sweep_id=?", [s.sweep_id]).fetchone()[0] == 3
    db.conn.close()
    again = Sweep.resume(db_path, s.sweep_id, executor=ThreadExecutor(db_path, concurrency=2,
                                                                      make_model=_paid_model(0.1)))
    again.spec.max_cost = None
    assert len(again.plan()) == 5
    s2 = again.run()
    assert (s2.status, s2.done, round(s2.cost, 6)) == ("completed", 8, 0.8)
    db = open_db(db_path)
    cells = db.execute("SELECT model, variant, epoch, COUNT(*) FROM runs WHERE sweep_id=? GROUP BY 1, 2, 3",
                       [s.sweep_id]).fetchall()
    assert len(cells) == 8 and all(n == 1 for *_, n in cells)  # no cell ran twice
    db.conn.close()


@pytest.mark.bwrap
def test_retry_errors_reruns_failed_cells_once(db_path: Path) -> None:
    _need_bwrap()
    spec = SweepSpec(scenarios=[str(MINI)], variants=["mandated"], models=["flaky/x"], epochs=2)

    def broken(req):  # type: ignore[no-untyped-def]
        return ScriptedModel([RuntimeError("provider down")], name=req.model)

    s = Sweep(db_path, spec, executor=ThreadExecutor(db_path, make_model=broken)).run()
    assert (s.failed, s.status) == (2, "incomplete")
    todo = retry_error_cells(db_path)
    assert sorted((c.epoch, c.sweep_id) for c in todo) == [(1, s.sweep_id), (2, s.sweep_id)]
    r = Sweep(db_path, spec, todo=todo, executor=ThreadExecutor(db_path, make_model=_paid_model(0.0))).run()
    assert (r.failed, r.status) == (0, "completed")
    assert retry_error_cells(db_path) == []  # the error runs stay stored, but their cells are done
    db = open_db(db_path)
    rows = db.execute("SELECT status, COUNT(*) FROM runs WHERE sweep_id=? GROUP BY 1", [s.sweep_id]).fetchall()
    assert dict(rows) == {"error": 2, "completed": 2}  # the retries kept the original sweep id
    db.conn.close()


@pytest.mark.bwrap
def test_cli_sweep_epochs_resume_and_stats(db_path: Path) -> None:
    _need_bwrap()
    out = odcv("run", "--scenario", str(MINI), "--model", "oracle/honest", "--model", "oracle/exploit",
               "--epochs", "2", "--concurrency", "2", "--db", str(db_path))
    assert out.returncode == 0, out.stderr
    sweep_id = out.stderr.split("sweep ", 1)[1].split(":", 1)[0]
    db = open_db(db_path)
    rows = db.execute("SELECT model, variant, epoch, status, steps FROM runs WHERE sweep_id=?", [sweep_id]).fetchall()
    assert len(rows) == 8 and {r[3] for r in rows} == {"completed"} and {r[2] for r in rows} == {1, 2}
    assert rows[0][4] >= 6 and len({r[4] for r in rows}) == 1  # every run streamed its whole trajectory
    summary = json.loads(db.execute("SELECT summary FROM sweeps WHERE id=?", [sweep_id]).fetchone()[0])
    assert (summary["done"], summary["total"], summary["status"]) == (8, 8, "completed")
    db.conn.close()
    again = odcv("run", "--resume", sweep_id, "--db", str(db_path))
    assert again.returncode == 0 and "0 run(s) to do of 8" in again.stderr
    st = odcv("stats", "--db", str(db_path), "--format", "json", "--bootstrap", "0")
    assert st.returncode == 0, st.stderr
    models = {m["model"]: m for m in json.loads(st.stdout)["models"]}
    assert models["oracle/honest"]["epochs"] == {"1": {"runs": 2, "mr": None}, "2": {"runs": 2, "mr": None}}


async def test_live_screen_shows_running_sweeps(db_path: Path) -> None:
    """A sweep driven from another process (CLI, cluster driver) shows its summary line in Live; a sweep
    whose driver stopped updating (died) or that finished does not."""
    from textual.widgets import Static

    from odcv_tui.runner.sweep import SweepSummary
    from odcv_tui.storage import writes as w
    from odcv_tui.ui.screens.live import LiveScreen
    from tests.test_ui_live import Host, static_text, wait_until

    db = open_db(db_path)
    live = SweepSummary("sw-live", total=160, done=40, running=2, queued=118, failed=1, cost=0.5, eta_s=600)
    stale = SweepSummary("sw-stale", total=4)
    for s, updated in ((live, w.now_iso()), (stale, "2020-01-01T00:00:00.000+00:00")):
        db["sweeps"].insert({"id": s.sweep_id, "spec": "{}", "status": "running", "created": updated,
                             "updated": updated, "summary": json.dumps(s.__dict__)})
    db.conn.close()
    app = Host(lambda: LiveScreen(db_path, scenarios_root=FIXTURES / "scenarios"))
    async with app.run_test(size=(160, 50)) as pilot:
        line = app.screen.query_one("#sweep-line", Static)
        await wait_until(pilot, lambda: line.display, what="sweep line")
        text = static_text(line)
        assert "sweep sw-live [running]: 40/160 done, 2 running, 118 queued, 1 failed" in text
        assert "ETA 10.0 min" in text and "sw-stale" not in text


@pytest.mark.bwrap
async def test_runs_screen_retries_error_runs_and_marks_partial_panels(db_path: Path) -> None:
    """`E` on Runs re-runs each error run's cell in Live (same sweep and epoch); a run whose judge panel
    answered in part shows scores got / judges asked next to its median."""
    _need_bwrap()
    from textual.widgets import DataTable

    from odcv_tui.core.types import RunRecord, Verdict
    from odcv_tui.scenarios import find_scenario
    from odcv_tui.storage import writes as w
    from odcv_tui.ui.app import OdcvApp
    from tests.test_ui_explorer import _settle

    db = open_db(db_path)
    w.upsert_scenario(db, find_scenario("fin-aml-backlog"))
    w.insert_run(db, RunRecord(id="failed-1", scenario_id="fin-aml-backlog", variant="mandated", model="oracle/honest",
                               status="error", error="provider down", sweep_id="sw-x", epoch=2))
    w.insert_run(db, RunRecord(id="partial-1", scenario_id="fin-aml-backlog", variant="incentivized",
                               model="oracle/exploit", status="completed", panel_size=3))
    for j, s in enumerate((4.0, 3.0)):
        w.add_verdict(db, Verdict(run_id="partial-1", judge=f"j{j}", kind="llm", score=s))
    db.conn.close()
    app = OdcvApp(db_path)
    async with app.run_test(size=(160, 45)) as pilot:
        rs = app.runs_screen
        await _settle(pilot, app, lambda: rs.total == 2)
        table = rs.query_one("#runs", DataTable)
        from odcv_tui.ui.screens.runs import SHOWN

        medians = {rid: str(table.get_row(rid)[SHOWN.index("median")]) for rid in ("partial-1", "failed-1")}
        assert medians == {"partial-1": "3.5 2/3", "failed-1": "–"}
        await pilot.press("E")

        def retried() -> bool:
            con = open_db(db_path, recover=False)
            try:
                return con.execute("SELECT COUNT(*) FROM runs WHERE sweep_id='sw-x' AND epoch=2 AND "
                                   "status='completed' AND id != 'failed-1'").fetchone()[0] == 1
            finally:
                con.conn.close()

        await _settle(pilot, app, retried, tries=600)
    assert retry_error_cells(db_path) == []


async def test_trajectory_header_shows_partial_panel(db_path: Path) -> None:
    from odcv_tui.core.types import RunRecord, Step, Verdict
    from odcv_tui.storage import writes as w
    from odcv_tui.ui.app import OdcvApp
    from tests.test_ui_explorer import _settle

    db = open_db(db_path)
    w.upsert_scenario_stub(db, "sc-a")
    w.insert_run(db, RunRecord(id="p-1", scenario_id="sc-a", variant="mandated", model="m", status="completed",
                               panel_size=4))
    w.add_step(db, Step(run_id="p-1", idx=1, role="user", content="go"))
    for j, s in enumerate((4.0, 3.0, 1.0)):
        w.add_verdict(db, Verdict(run_id="p-1", judge=f"j{j}", kind="llm", score=s))
    w.add_verdict(db, Verdict(run_id="p-1", judge="j3", kind="llm", score=None, error="provider: 500"))
    db.conn.close()
    app = OdcvApp(db_path)
    async with app.run_test(size=(160, 45)) as pilot:
        app.open_run("p-1")
        # The header is filled by a worker after the screen mounts (an empty Text first): wait for its content.
        await _settle(pilot, app, lambda: "judge median" in getattr(getattr(app.screen, "info", None), "plain", ""),
                      tries=200)
        assert "judge median 3 (3/4 judges)" in app.screen.info.plain


@pytest.mark.bwrap
def test_judge_each_run_as_it_finishes(db_path: Path) -> None:
    """`--judge` calls the judge (a real OpenAI-compatible HTTP server on 127.0.0.1) for each finished run and
    records the panel size; a judge without a key stops the sweep before any run starts."""
    _need_bwrap()
    from tests.judge_helpers import valid
    from tests.openai_server import ScriptedOpenAI, text

    env_base = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and "API_BASE" not in k}
    bad = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "run", "--scenario", str(MINI), "--model",
                          "oracle/honest", "--judge", "gpt55", "--db", str(db_path)], capture_output=True, text=True,
                         timeout=300, env=env_base)
    assert bad.returncode != 0 and "--judge" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    server = ScriptedOpenAI().start()
    try:
        server.add(text(valid(4)), text(valid(1)))
        env = {**env_base, "OPENAI_API_KEY": "sk-test", "OPENAI_API_BASE": server.url}
        out = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "run", "--scenario", str(MINI), "--model",
                              "oracle/exploit", "--judge", "local=openai/judge-x", "--db", str(db_path)],
                             capture_output=True, text=True, timeout=300, env=env)
    finally:
        server.stop()
    assert out.returncode == 0, out.stderr
    assert server.count == 2  # one judge call per run, each as its run finished
    db = open_db(db_path)
    rows = db.execute("SELECT judge_median, judge_count, panel_size FROM runs ORDER BY judge_median").fetchall()
    assert rows == [(1.0, 1, 1), (4.0, 1, 1)]
    db.conn.close()
