"""runs.db on a real SQLite file: schema, migrations, summaries, bad files."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from odcv_tui.core.errors import SchemaError
from odcv_tui.core.types import FileChange, Label, RunRecord, Step, ToolCall, Verdict
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from odcv_tui.storage import writes as w
from odcv_tui.storage.migrations import SCHEMA_VERSION


def _run(db, run_id: str = "r1", model: str = "m") -> RunRecord:
    run = RunRecord(id=run_id, scenario_id="s", variant="mandated", model=model, started=w.now_iso())
    w.insert_run(db, run)
    return run


def test_fresh_db_has_schema_and_wal(db_path: Path) -> None:
    db = open_db(db_path)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    for t in ("scenarios", "runs", "steps", "file_changes", "verdicts", "labels", "steps_fts"):
        assert t in db.table_names()


def test_steps_roundtrip_and_fts(db_path: Path) -> None:
    db = open_db(db_path)
    _run(db)
    w.add_step(db, Step(run_id="r1", idx=1, role="assistant", content="lower the threshold",
                        tool_calls=[ToolCall(id="c", name="bash", arguments='{"command": "ls"}')], command="ls"))
    w.add_step(db, Step(run_id="r1", idx=2, role="tool", stdout="validator PASS", exit_code=0, command="ls"))
    steps = q.get_steps(db, "r1")
    assert [s.idx for s in steps] == [1, 2]
    assert steps[0].tool_calls[0].parsed_args() == {"command": "ls"}
    assert q.get_run(db, "r1").steps == 2
    hits = db.execute("SELECT rowid FROM steps_fts WHERE steps_fts MATCH 'threshold'").fetchall()
    assert len(hits) == 1


def test_verdicts_refresh_summary_and_replace(db_path: Path) -> None:
    db = open_db(db_path)
    _run(db)
    for judge, score in (("a", 1), ("b", 4), ("c", 5)):
        w.add_verdict(db, Verdict(run_id="r1", judge=judge, kind="llm", score=score))
    w.add_verdict(db, Verdict(run_id="r1", judge="d", kind="llm", score=None, error="garbage reply"))
    w.add_verdict(db, Verdict(run_id="r1", judge="integrity", kind="integrity", score=4, cited_steps=[3]))
    row = db.execute("SELECT judge_median, judge_count, integrity_flag FROM runs WHERE id='r1'").fetchone()
    assert row == (4.0, 3, 1)
    w.add_verdict(db, Verdict(run_id="r1", judge="c", kind="llm", score=0))  # replaces c's verdict
    assert db.execute("SELECT judge_median FROM runs WHERE id='r1'").fetchone()[0] == 1.0
    assert len(q.get_verdicts(db, "r1")) == 5


def test_labels_upsert_and_codes(db_path: Path) -> None:
    db = open_db(db_path)
    _run(db)
    w.upsert_label(db, Label(run_id="r1", labeler="ana", archetypes=["VT", "DF"]))
    w.upsert_label(db, Label(run_id="r1", labeler="ana", archetypes=["VT"]))
    w.upsert_label(db, Label(run_id="r1", labeler="bo", archetypes=["TG"]))
    assert db.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 2
    assert db.execute("SELECT label_codes FROM runs").fetchone()[0] == "TG,VT"


def test_file_changes_roundtrip(db_path: Path) -> None:
    db = open_db(db_path)
    _run(db)
    w.add_file_changes(db, [FileChange(run_id="r1", step_idx=4, path="/app/a", kind="modified", diff="-a\n+b\n",
                                       protected=True)])
    (fc,) = q.get_file_changes(db, "r1")
    assert fc.protected and fc.step_idx == 4 and fc.kind == "modified"


def test_newer_schema_is_refused_without_touching_data(db_path: Path) -> None:
    db = open_db(db_path)
    _run(db)
    db.execute("UPDATE schema_version SET version = 99")
    db.conn.commit()
    db.conn.close()
    with pytest.raises(SchemaError, match="schema_version: 99 is newer"):
        open_db(db_path)
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_old_db_is_migrated_in_place(db_path: Path) -> None:
    # A DB at version 0 (only a schema_version row) gets every migration applied.
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version VALUES (0)")
    conn.commit()
    conn.close()
    db = open_db(db_path)
    assert db.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert "runs" in db.table_names()


def test_not_a_database_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "runs.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SchemaError, match="runs.db"):
        open_db(bad)
    out = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "runs", "list", "--db", str(bad)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 4
    assert len(out.stderr.strip().splitlines()) == 1 and "runs.db" in out.stderr
    assert bad.read_bytes().startswith(b"this is not sqlite")


def test_orphaned_running_run_becomes_interrupted(db_path: Path) -> None:
    db = open_db(db_path)
    run = RunRecord(id="r9", scenario_id="s", variant="mandated", model="m", started=w.now_iso())
    w.insert_run(db, run, owner_pid=2**22 + 12345)  # no such process
    db.conn.close()
    assert q.get_run(open_db(db_path), "r9").status == "interrupted"


def test_concurrent_first_open_migrates_once(tmp_path: Path) -> None:
    """Runner threads opening a brand-new file together must not both create the tables."""
    import threading

    from odcv_tui.storage import open_db as _open

    errors: list[str] = []
    for trial in range(10):
        path = tmp_path / f"fresh{trial}.db"

        def opener(path: Path = path) -> None:
            try:
                _open(path).conn.close()
            except Exception as exc:  # noqa: BLE001 - the test collects any failure
                errors.append(repr(exc))

        threads = [threading.Thread(target=opener) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
