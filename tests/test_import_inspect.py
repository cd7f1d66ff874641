"""Inspect AI logs: the committed .eval fixture (zstd + deflate + stored entries), its builder, bad files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from odcv_tui.core.errors import InputError
from odcv_tui.importers.inspect_eval import import_inspect, read_log
from odcv_tui.storage import open_db
from odcv_tui.storage import queries as q
from tests.conftest import FIXTURES
from tests.fixtures.inspect import build_fixture as bf

EVAL = FIXTURES / "inspect" / "odcv_small.eval"
HONEST = "in-RUNabc123-mini-sla-mandated-e1"
EXPLOIT = "in-RUNabc123-mini-sla-incentivized-e1"


@pytest.fixture
def db(db_path: Path):  # type: ignore[no-untyped-def]
    d = open_db(db_path)
    yield d
    d.conn.close()


def test_builder_reproduces_committed_fixture(tmp_path: Path) -> None:
    assert bf.build(tmp_path / "x.eval").read_bytes() == EVAL.read_bytes()


def test_zstd_entries_are_read(tmp_path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(EVAL) as zf:
        methods = {i.filename: i.compress_type for i in zf.infolist()}
        # The stdlib cannot open method 93 itself: that is what the importer works around.
        with pytest.raises(NotImplementedError):
            zf.read("samples/mini-sla-mandated_epoch_1.json")
    assert methods["samples/mini-sla-mandated_epoch_1.json"] == bf.ZSTD
    header, samples = read_log(EVAL)
    assert header["eval"]["model"] == "openai/gpt-test"
    assert sorted(s["id"] for s in samples) == ["broken", "mini-sla-incentivized", "mini-sla-mandated"]


def test_samples_become_runs_steps_verdicts(db) -> None:  # type: ignore[no-untyped-def]
    s = import_inspect(db, [EVAL])
    assert s.runs == 3 and s.steps == 11
    run = q.get_run(db, HONEST)
    assert (run.model, run.scenario_id, run.variant, run.source, run.tokens) == (
        "openai/gpt-test", "mini-sla", "mandated", "inspect", 120)
    steps = q.get_steps(db, HONEST)
    assert [x.role for x in steps] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    a = steps[2]
    assert a.reasoning == "Look at the data first." and a.content == "Checking the incident log."
    assert a.command == "cat /app/incidents.csv" and a.tool_calls[0].parsed_args() == {"cmd": "cat /app/incidents.csv"}
    assert (steps[3].tool_call_id, steps[3].command, steps[3].stdout) == ("call_1", "cat /app/incidents.csv",
                                                                         "id,minutes\n1,120\n")
    bad = q.get_steps(db, EXPLOIT)[3]
    assert bad.stderr == "sed: cannot rename: Permission denied" and bad.note == "error:permission"
    vs = {v.judge: v for v in q.get_verdicts(db, HONEST)}
    assert vs["odcv_judge"].score == 0.0 and vs["odcv_judge"].reasoning == "Reported the miss honestly."
    # "C" is not on the 0-5 rubric: kept to read, never counted as a score.
    assert vs["match"].score is None and "not on the 0-5 rubric" in vs["match"].error
    ex = {v.judge: v.score for v in q.get_verdicts(db, EXPLOIT)}
    assert ex == {"odcv_judge.severity": 4.0, "odcv_judge.pass": None}
    assert db.execute("SELECT judge_median FROM runs WHERE id=?", [EXPLOIT]).fetchone()[0] == 4.0
    err = q.get_run(db, "in-RUNabc123-broken-e2")
    assert err.status == "error" and "sandbox died" in err.error
    assert any("no metadata.variant" in w for w in s.warnings)


def test_reimport_is_idempotent(db) -> None:  # type: ignore[no-untyped-def]
    import_inspect(db, [EVAL])
    before = [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "steps", "verdicts")]
    import_inspect(db, [EVAL])
    assert [db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("runs", "steps", "verdicts")] == before


def test_legacy_json_log(tmp_path: Path, db) -> None:  # type: ignore[no-untyped-def]
    log = {**bf.HEADER, "samples": [bf.sample_honest()]}
    p = tmp_path / "old.json"
    p.write_text(json.dumps(log))
    assert import_inspect(db, [p]).runs == 1


def test_bad_files_name_file_and_entry(tmp_path: Path, db) -> None:  # type: ignore[no-untyped-def]
    broken = bf.build(tmp_path / "b.eval", samples=[("samples/1_epoch_1.json", b'{"id": 1,\n "messages": [}', bf.ZSTD)])
    with pytest.raises(InputError, match=r"b.eval: samples/1_epoch_1.json line 2: invalid JSON"):
        import_inspect(db, [broken])
    nohead = tmp_path / "n.eval"
    bf.write_zip(nohead, [("samples/1_epoch_1.json", b"{}", bf.STORED)])
    with pytest.raises(InputError, match="header.json: missing"):
        import_inspect(db, [nohead])
    junk = tmp_path / "j.eval"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(InputError, match="not an Inspect .eval log"):
        import_inspect(db, [junk])
    assert db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0


def test_cli(tmp_path: Path) -> None:
    dbp = tmp_path / "c.db"
    ok = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "import", "inspect", str(EVAL), "--db", str(dbp)],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "imported 3 runs" in ok.stdout, ok.stderr
    junk = tmp_path / "j.eval"
    junk.write_bytes(b"PK\x03\x04garbage")
    bad = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "import", "inspect", str(junk), "--db", str(dbp)],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("odcv: error: ") and bad.stderr.count("\n") == 1
