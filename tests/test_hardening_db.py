"""Damaged and awkward databases (#13.6, #14.3): a missing folder, a missing file for a read-only command,
read-only media, a corrupt page. Each is one line on stderr and a non-zero exit, never a traceback, never a
silent success, never a file or folder created behind the user's back."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from odcv_tui.core.types import RunRecord, Step, Verdict
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from tests.conftest import FIXTURES


def odcv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=180, cwd=cwd)


def one_line_error(out: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert out.returncode != 0, out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def _filled(path: Path, runs: int = 30) -> None:
    db = open_db(path)
    for i in range(runs):
        rid = f"r{i:03d}"
        w.insert_run(db, RunRecord(id=rid, scenario_id="s", variant="mandated", model="m", status="completed",
                                   started=f"2026-01-01T00:00:{i:02d}"))
        for k in range(8):
            w.add_step(db, Step(run_id=rid, idx=k + 1, role="tool", stdout=f"output {i} {k} " * 40))
        w.add_verdict(db, Verdict(run_id=rid, judge="j", kind="imported", score=i % 5))
    db.conn.close()


def test_db_in_missing_folder_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "deeper" / "runs.db"
    for args in (("runs", "list"), ("stats",), ("import", "upstream", str(FIXTURES / "upstream_results" / "repo"))):
        one_line_error(odcv(*args, "--db", str(target)), "does not exist")
    assert not (tmp_path / "nope").exists()


def test_read_only_commands_never_create_a_db(tmp_path: Path) -> None:
    target = tmp_path / "runs.db"
    for args in (("runs", "list"), ("stats",), ("labels", "stats"), ("labels", "export"), ("labels", "stale")):
        one_line_error(odcv(*args, "--db", str(target)), str(target), "no such database")
    assert list(tmp_path.iterdir()) == []
    # The default path too (./runs.db in the working directory).
    one_line_error(odcv("runs", "list", cwd=tmp_path), "runs.db")
    assert list(tmp_path.iterdir()) == []


def test_no_lock_file_next_to_the_users_db(tmp_path: Path) -> None:
    _filled(tmp_path / "runs.db", runs=1)
    assert odcv("runs", "list", "--db", str(tmp_path / "runs.db")).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir() if "lock" in p.name) == []


def test_corrupt_page_fails_every_command(tmp_path: Path) -> None:
    dbp = tmp_path / "runs.db"
    _filled(dbp)
    conn = sqlite3.connect(dbp)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    assert pages > 10
    with dbp.open("r+b") as fh:  # garbage over a page in the middle (steps data), header left intact
        fh.seek(page * (pages // 2))
        fh.write(b"\xde\xad\xbe\xef" * (page // 4))
    for args in (("runs", "list"), ("stats", "--bootstrap", "0"),
                 ("run", "--scenario", str(FIXTURES / "scenarios" / "mini-sla"), "--model", "oracle/honest",
                  "--variant", "mandated")):
        one_line_error(odcv(*args, "--db", str(dbp)), "corrupt")


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    if r.returncode != 0:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):  # CI runs as root, where mounting works
            pytest.fail(f"cannot mount a tmpfs: {r.stderr!r}")
        pytest.skip("cannot mount a tmpfs here (not root)")


def test_db_on_read_only_media_can_be_read(tmp_path: Path) -> None:
    media = tmp_path / "media"
    _mount_tmpfs(media, "16m")
    try:
        _filled(media / "runs.db")
        subprocess.run(["mount", "-o", "remount,ro", str(media)], check=True)
        listed = odcv("runs", "list", "--db", str(media / "runs.db"), "--format", "plain")
        assert listed.returncode == 0, listed.stderr
        assert len(listed.stdout.strip().splitlines()) == 31  # header + 30 runs
        stats = odcv("stats", "--db", str(media / "runs.db"), "--bootstrap", "0", "--format", "csv")
        assert stats.returncode == 0, stats.stderr
        # Writing is refused in one line (a read-only database), not with a traceback.
        one_line_error(odcv("import", "upstream", str(FIXTURES / "upstream_results" / "repo"), "--db",
                            str(media / "runs.db")), "read")
    finally:
        subprocess.run(["umount", "-l", str(media)], check=False)


def test_lock_dir_is_private(tmp_path: Path) -> None:
    from odcv_tui.storage.db import lock_path

    lp = lock_path(tmp_path / "runs.db")
    assert lp.parent.stat().st_mode & 0o077 == 0 and tmp_path not in lp.parents
    shutil.rmtree(tmp_path, ignore_errors=True)
