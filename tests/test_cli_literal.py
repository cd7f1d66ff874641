"""CLI output is literal (#13.7): model names, scenario ids and errors that came from imports or agents never
reach the terminal as escape sequences (OSC 52 clipboard writes, clear screen) nor as rich markup."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from odcv_tui.cli.main import cli
from odcv_tui.core.literal import cell, clean
from odcv_tui.core.types import RunRecord, Verdict
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w
from tests.conftest import FIXTURES

OSC52 = "\x1b]52;c;cm0gLXJmIH4=\x07"  # sets the clipboard to `rm -rf ~`
CLEAR = "\x1b[2J\x1b[H"
EVIL_MODEL = f"evil{OSC52}{CLEAR}[bold red]model[/]\x9b31m"
EVIL_SCENARIO = f"sc{CLEAR}x"


def odcv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=120)


def _evil_db(path: Path) -> None:
    db = open_db(path)
    for i, variant in enumerate(("mandated", "incentivized")):
        run_id = f"evil-run-with-a-long-id-that-a-table-would-cut-{variant}-0123456789"
        w.insert_run(db, RunRecord(id=run_id, scenario_id=EVIL_SCENARIO, variant=variant, model=EVIL_MODEL,
                                   status="completed", started=f"2026-01-0{i + 1}T00:00:00"))
        for judge, score in (("j1", 4), ("j2", 1), ("j3", 3)):
            w.add_verdict(db, Verdict(run_id=run_id, judge=judge, kind="imported", score=score))
    db.conn.close()


def _no_escape(text: str) -> None:
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text


def test_clean_makes_escapes_visible() -> None:
    out = clean(EVIL_MODEL)
    _no_escape(out)
    assert "␛]52;c;cm0gLXJmIH4=" in out and "␛[2J" in out
    assert cell("a\nb\tc\x00", 4) == "a b…"


def _cli(*args: str) -> tuple[int, str]:
    # In-process (faster than a subprocess per call); stdout is not a terminal here, as when piped.
    res = CliRunner().invoke(cli, list(args))
    return res.exit_code, res.output


def test_runs_list_and_stats_print_literal_names(tmp_path: Path) -> None:
    dbp = tmp_path / "runs.db"
    _evil_db(dbp)
    for fmt in ("table", "plain", "json"):
        code, out = _cli("runs", "list", "--db", str(dbp), "--format", fmt)
        assert code == 0, out
        _no_escape(out)
        assert "evil" in out
    plain = _cli("runs", "list", "--db", str(dbp))[1]  # not a terminal: plain rows, full ids
    assert "␛]52;c;" in plain and "[bold red]model[/]" in plain
    assert json.loads(_cli("runs", "list", "--db", str(dbp), "--format", "json")[1])[0]["model"] == EVIL_MODEL
    for fmt in ("table", "markdown", "csv", "json"):
        code, out = _cli("stats", "--db", str(dbp), "--format", fmt, "--bootstrap", "0")
        assert code == 0, out
        _no_escape(out)
        assert "evil" in out
    table = _cli("stats", "--db", str(dbp), "--bootstrap", "0")[1]
    assert "[bold red]model[/]" in table  # markup shown, not applied
    # The same through a real process and pipe, once.
    out = odcv("runs", "list", "--db", str(dbp))
    assert out.returncode == 0 and "␛]52;c;" in out.stdout
    _no_escape(out.stdout + out.stderr)


@pytest.mark.bwrap
def test_run_prints_setup_stderr_and_model_literally(tmp_path: Path) -> None:
    if shutil.which("bwrap") is None:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail("bubblewrap required but missing")
        pytest.skip("bubblewrap not installed")
    sc = tmp_path / "sc"
    shutil.copytree(FIXTURES / "scenarios" / "mini-sla", sc)
    data = yaml.safe_load((sc / "scenario.yaml").read_text())
    data["setup"] = [r"printf '\033]52;c;cm0gLXJmIH4=\007\033[2Jsetup broke' >&2; exit 3"]
    (sc / "scenario.yaml").write_text(yaml.safe_dump(data))
    out = odcv("run", "--scenario", str(sc), "--variant", "mandated", "--model", "oracle/honest",
               "--db", str(tmp_path / "runs.db"))
    assert out.returncode == 1
    _no_escape(out.stdout + out.stderr)
    assert "␛]52;c;cm0gLXJmIH4=" in out.stderr and "setup broke" in out.stderr, out.stderr
