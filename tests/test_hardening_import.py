"""Hostile or damaged import files (#13.6): every case is one line naming the file (and line/entry), never a
traceback; imports stay all-or-nothing on a full disk; a truncated trajectory never replaces a complete run;
a .eval zip bomb is refused before it is inflated, with odcv's RSS bounded."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from odcv_tui.core.errors import InputError
from odcv_tui.importers.inspect_eval import import_inspect
from odcv_tui.importers.upstream import import_upstream
from odcv_tui.storage import open_db
from tests.conftest import FIXTURES

REPO = FIXTURES / "upstream_results" / "repo" / "existing_results" / "current"
RECORD = REPO / "agent_logs" / "gpt-5.5-incentivized" / "experiments" / "Scen-A" / "messages_record.txt"


def odcv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=300)


def _one_line(out: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert out.returncode != 0, out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def results(tmp_path: Path) -> Path:
    dst = tmp_path / "current"
    shutil.copytree(REPO, dst)
    return dst


def _record(results: Path) -> Path:
    return results / RECORD.relative_to(REPO)


def _raises(db_path: Path, results: Path, *needles: str) -> None:
    db = open_db(db_path)
    with pytest.raises(InputError) as err:
        import_upstream(db, results)
    msg = str(err.value)
    assert "\n" not in msg, msg
    for n in needles:
        assert n in msg, msg
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 0  # nothing half-imported


def test_non_utf8_csv(results: Path, db_path: Path) -> None:
    scores = results / "evaluations" / "judge_all" / "scores_grok.csv"
    scores.write_bytes(scores.read_bytes() + b"Scen-A,\xff\xfe\n")
    _raises(db_path, results, "scores_grok.csv", "UTF-8")


def test_unterminated_csv_quote(results: Path, db_path: Path) -> None:
    scores = results / "evaluations" / "judge_all" / "scores_grok.csv"
    scores.write_text(scores.read_text() + 'Scen-Z,"3\n')
    _raises(db_path, results, "scores_grok.csv", "bad CSV")


def test_arguments_as_a_set(results: Path, db_path: Path) -> None:
    rec = _record(results)
    rec.write_text(rec.read_text().replace("'arguments': '{\"reason\":\"GREEN\"}'", "'arguments': {'a', 'b'}"))
    _raises(db_path, results, "messages_record.txt", "line", "set")


def test_deeply_nested_call(results: Path, db_path: Path) -> None:
    rec = _record(results)
    text = rec.read_text()
    start = text.index("call: [{'id': 'c4'")
    end = text.index("\n", start)
    rec.write_text(text[:start] + "call: " + "-" * 200_000 + "1" + text[end:])
    _raises(db_path, results, "messages_record.txt", "call")
    rec.write_text(text[:start] + "call: " + "[" * 5000 + "]" * 5000 + text[end:])
    _raises(db_path, results, "messages_record.txt", "call")


def test_truncated_record_never_replaces_a_complete_run(results: Path, db_path: Path) -> None:
    db = open_db(db_path)
    import_upstream(db, results)
    run_id = "up-gpt-5.5-incentivized-Scen-A"
    full = db.execute("SELECT steps, trajectory_hash FROM runs WHERE id=?", [run_id]).fetchone()
    rec = _record(results)
    text = rec.read_text()
    rec.write_text(text[: text.index("== Step 6 ==")])  # cut at a step boundary: still parses
    summary = import_upstream(db, results)
    assert db.execute("SELECT steps, trajectory_hash FROM runs WHERE id=?", [run_id]).fetchone() == full
    assert any(run_id in w and "kept the stored run" in w for w in summary.warnings)
    rec.unlink()  # a missing file is the extreme truncation
    import_upstream(db, results)
    assert db.execute("SELECT steps FROM runs WHERE id=?", [run_id]).fetchone()[0] == full[0]


def _synthetic_corpus(root: Path, runs: int, tool_bytes: int) -> Path:
    out = "x" * tool_bytes
    for i in range(runs):
        d = root / "agent_logs" / "big-model-mandated" / "experiments" / f"Scenario-{i:03d}"
        d.mkdir(parents=True)
        d.joinpath("messages_record.txt").write_text(
            "== Step 1 ==\nrole: user\ncontent: go\n\n== Step 2 ==\nrole: assistant\ncontent: ok\nreason: r\n"
            "call: [{'id': 'c1', 'type': 'function', 'function': {'name': 'bash', 'arguments': "
            "'{\"command\":\"cat big\"}'}}]\n\n== Step 3 ==\nrole: tool\ncontent: "
            + json.dumps({"stdout": f"{i} {out}", "stderr": "", "returncode": 0}) + "\n")
    return root


def test_full_disk_import_is_one_line_and_all_or_nothing(tmp_path: Path) -> None:
    media = tmp_path / "small"
    media.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(media)]).returncode != 0:
        pytest.skip("cannot mount a size-limited tmpfs here (not root)")
    try:
        dbp = media / "runs.db"
        open_db(dbp).conn.close()
        corpus = _synthetic_corpus(tmp_path / "corpus", runs=120, tool_bytes=40_000)  # ~5 MB of steps
        line = _one_line(odcv("import", "upstream", str(corpus), "--db", str(dbp)))
        assert "full" in line or "space" in line, line
        conn = sqlite3.connect(dbp)
        assert conn.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        conn.close()
    finally:
        subprocess.run(["umount", "-l", str(media)], check=False)


# ---- Inspect .eval ------------------------------------------------------------------------------------------

HEADER = {"version": 2, "eval": {"run_id": "R1", "task": "t", "model": "m/x", "created": "2026-01-01"}}


def _eval(path: Path, samples: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        zf.writestr("header.json", json.dumps(HEADER))
        for name, data in samples.items():
            zf.writestr(f"samples/{name}.json", data)
    return path


def _sample(**over) -> bytes:  # type: ignore[no-untyped-def]
    s = {"id": "s1", "epoch": 1, "metadata": {"scenario_id": "x", "variant": "mandated"},
         "messages": [{"role": "user", "content": "hi"}], "scores": {}}
    s.update(over)
    return json.dumps(s).encode()


def _inspect_raises(db_path: Path, path: Path, *needles: str) -> None:
    db = open_db(db_path)
    with pytest.raises(InputError) as err:
        import_inspect(db, [path])
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg, msg
    for n in needles:
        assert n in msg, msg


def test_eval_corrupt_deflate(tmp_path: Path, db_path: Path) -> None:
    p = _eval(tmp_path / "bad.eval", {"s1": _sample() * 50})
    raw = bytearray(p.read_bytes())
    off = raw.index(b"samples/s1.json") + len("samples/s1.json") + 20  # inside the compressed data
    raw[off:off + 16] = b"\xff" * 16
    p.write_bytes(bytes(raw))
    _inspect_raises(db_path, p, "samples/s1.json")


@pytest.mark.parametrize("over", [
    {"messages": [{"role": "assistant", "content": "x", "tool_calls": "rm -rf /"}]},
    {"messages": [{"role": "assistant", "content": "x", "tool_calls": [["not", "a", "dict"]]}]},
    {"model_usage": {"m": {"total_tokens": "lots"}}},
    {"messages": [{"role": "tool", "content": "x", "tool_call_id": ["not", "a", "string"]}]},
    {"scores": ["not", "a", "dict"]},
])
def test_eval_wrong_typed_fields(tmp_path: Path, db_path: Path, over: dict) -> None:
    raw = json.dumps({**json.loads(_sample()), **over}).encode()
    p = _eval(tmp_path / "typed.eval", {"s1": raw})
    _inspect_raises(db_path, p, "sample s1")


def test_eval_zip_bomb_refused_with_bounded_rss(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.eval"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("header.json", json.dumps(HEADER))
        with zf.open("samples/s1.json", "w", force_zip64=True) as fh:
            chunk = b" " * (1 << 20)
            for _ in range(1024):  # 1 GiB of JSON whitespace
                fh.write(chunk)
    assert bomb.stat().st_size < 2 << 20
    probe = ("import sys\nfrom odcv_tui.cli.main import main\nsys.argv = ['odcv'] + sys.argv[1:]\n"
             "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
             # VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child forked from a big pytest
             # process would report pytest's own peak.
             "hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM:')][0]\n"
             "print(hwm, file=sys.stderr)\nsys.exit(code)\n")
    out = subprocess.run([sys.executable, "-c", probe, "import", "inspect", str(bomb), "--db",
                          str(tmp_path / "runs.db")], capture_output=True, text=True, timeout=300)
    *lines, rss_kb = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and "zip bomb" in lines[0], out.stderr
    assert int(rss_kb) < 300 * 1024  # KiB: odcv stays small
