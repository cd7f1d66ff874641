"""The bulk import path (storage/bulk.py + importers/common.write_runs): one transaction per import, the full-text
index filled once and kept exact, unchanged runs left alone on re-import, worker processes giving the same result
as one process, and integrity verdicts judged in memory equal to the ones `fill_integrity` writes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from odcv_tui.core.errors import InputError
from odcv_tui.core.types import Step
from odcv_tui.importers.upstream import import_upstream
from odcv_tui.judge.integrity_fill import fill_integrity
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from tests.conftest import FIXTURES

CURRENT = FIXTURES / "upstream_results" / "repo" / "existing_results" / "current"
BAD_CALL = FIXTURES / "upstream_results" / "malformed_call" / "agent_logs" / "m-mandated" / "experiments" / "S1"
VERDICT_COLS = "run_id, judge, kind, score, reasoning, cited_steps, rubric_version"


def _corpus(root: Path, copies: int) -> Path:
    """The fixture's trajectories under `copies` model names (enough runs for the worker pool to start)."""
    for i in range(copies):
        for variant in ("mandated", "incentivized"):
            src = CURRENT / "agent_logs" / f"gpt-5.5-{variant}" / "experiments"
            dst = root / "agent_logs" / f"model-{i}-{variant}" / "experiments"
            for sc in src.iterdir():
                if (sc / "messages_record.txt").is_file():
                    (dst / sc.name).mkdir(parents=True)
                    shutil.copy(sc / "messages_record.txt", dst / sc.name / "messages_record.txt")
    return root


def _snapshot(db) -> dict[str, list[tuple]]:  # type: ignore[no-untyped-def]
    return {
        "runs": db.execute("SELECT id, steps, trajectory_hash, judge_median, judge_count, integrity_flag, "
                           "self_score, label_codes FROM runs ORDER BY id").fetchall(),
        "steps": db.execute("SELECT run_id, idx, role, content, tool_calls, command, stdout FROM steps "
                            "ORDER BY run_id, idx").fetchall(),
        "verdicts": db.execute(f"SELECT {VERDICT_COLS} FROM verdicts ORDER BY run_id, judge, kind").fetchall(),
        "fts": _search(db, "validator") + _search(db, "ok"),
        "triggers": db.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger' ORDER BY name").fetchall(),
    }


def _search(db, term: str) -> list[tuple]:  # type: ignore[no-untyped-def]
    return db.execute("SELECT s.run_id, s.idx FROM steps_fts JOIN steps s ON s.rowid = steps_fts.rowid "
                      "WHERE steps_fts MATCH ? ORDER BY 1, 2", [term]).fetchall()


def _fts_exact(db) -> None:  # type: ignore[no-untyped-def]
    # FTS5's own check (rank 1: also against the content table): raises if the index and the rows disagree.
    db.execute("INSERT INTO steps_fts(steps_fts, rank) VALUES('integrity-check', 1)")


def test_import_indexes_every_step_once_and_keeps_triggers(db_path: Path) -> None:
    db = open_db(db_path)
    triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'").fetchall()
    s = import_upstream(db, CURRENT, integrity=True)
    assert s.runs == 7 and s.integrity == 7
    _fts_exact(db)
    assert _search(db, "validator"), "the full-text index is empty after a bulk import"
    assert sorted(db.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'").fetchall()) == sorted(triggers)
    # The restored triggers index what is written afterwards (a live run's steps).
    run_id = db.execute("SELECT id FROM runs LIMIT 1").fetchone()[0]
    w.add_step(db, Step(run_id=run_id, idx=500, role="assistant", content="zyzzyva appears once"))
    assert _search(db, "zyzzyva") == [(run_id, 500)]
    _fts_exact(db)
    db.conn.close()


def test_in_memory_integrity_equals_fill_integrity(db_path: Path, tmp_path: Path) -> None:
    a = open_db(db_path)
    import_upstream(a, CURRENT, integrity=True)
    b = open_db(tmp_path / "b.db")
    import_upstream(b, CURRENT)
    assert fill_integrity(b) == 7
    q = f"SELECT {VERDICT_COLS} FROM verdicts WHERE kind='integrity' ORDER BY run_id"
    assert a.execute(q).fetchall() == b.execute(q).fetchall()
    assert (a.execute("SELECT id, integrity_flag FROM runs ORDER BY id").fetchall()
            == b.execute("SELECT id, integrity_flag FROM runs ORDER BY id").fetchall())
    a.conn.close()
    b.conn.close()


def test_reimport_rewrites_only_changed_runs_and_search_follows(db_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "current"
    shutil.copytree(CURRENT, src)
    db = open_db(db_path)
    import_upstream(db, src, integrity=True)
    before = _snapshot(db)
    import_upstream(db, src, integrity=True)
    assert _snapshot(db) == before  # idempotent, index included
    rec = src / "agent_logs" / "gpt-5.5-mandated" / "experiments" / "Scen-A" / "messages_record.txt"
    rec.write_text(rec.read_text(encoding="utf-8").replace("content: ", "content: quokka ", 1), encoding="utf-8")
    import_upstream(db, src, integrity=True)
    assert _search(db, "quokka") == [("up-gpt-5.5-mandated-Scen-A", 1)]
    after = _snapshot(db)
    assert after["steps"] != before["steps"] and len(after["steps"]) == len(before["steps"])
    _fts_exact(db)
    db.conn.close()


def test_failed_write_leaves_the_database_unchanged(db_path: Path) -> None:
    db = open_db(db_path)
    import_upstream(db, CURRENT, integrity=True)
    before = _snapshot(db)
    # A real write failure half-way through the load: SQLite aborts the insert of one run's verdict.
    db.execute("CREATE TRIGGER fail_one BEFORE INSERT ON verdicts WHEN new.run_id = 'up-tiny-model-mandated-Scen-A' "
               "BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    db.conn.commit()
    with pytest.raises(sqlite3.IntegrityError, match="disk says no"):
        import_upstream(db, CURRENT, integrity=True)
    db.execute("DROP TRIGGER fail_one")
    db.conn.commit()
    assert _snapshot(db) == before  # rows, summaries, full-text index and the FTS triggers all as before
    _fts_exact(db)
    db.conn.close()


def test_workers_give_the_same_database_and_errors(db_path: Path, tmp_path: Path) -> None:
    src = _corpus(tmp_path / "corpus", 40)  # 120 runs: past the pool's minimum
    one, two = open_db(db_path), open_db(tmp_path / "two.db")
    ticks: list[tuple[str, int, int]] = []
    s1 = import_upstream(one, src, integrity=True, workers=1)
    s2 = import_upstream(two, src, integrity=True, workers=2, progress=lambda ph, d, n: ticks.append((ph, d, n)))
    assert s1.runs == s2.runs == 120 and s2.integrity == 120
    assert _snapshot(one) == _snapshot(two)
    # One bar: runs written of runs found, advancing batch by batch as the workers hand them over.
    # then the full-text index's last fill.
    runs = [(d, n) for ph, d, n in ticks if ph == "import"]
    assert runs[-1] == (120, 120) and len(runs) >= 2
    assert [d for d, _ in runs] == sorted({d for d, _ in runs})
    assert ticks[-2:] == [("index", 0, 1), ("index", 1, 1)]
    # A malformed file parsed in a worker process still gives the one-line error naming file and line.
    bad = src / "agent_logs" / "model-7-mandated" / "experiments" / "S1"
    shutil.copytree(BAD_CALL, bad)
    with pytest.raises(InputError, match=r"model-7-mandated/experiments/S1/messages_record.txt: line \d+"):
        import_upstream(two, src, integrity=True, workers=2)
    assert _snapshot(two) == _snapshot(one)  # nothing written
    one.conn.close()
    two.conn.close()
