"""First-minute CLI friction (#14.4): full ids when piped or with --format plain|json, substring --model like
the TUI filter, help on every option, "did you mean" for unknown scenario ids, whole help summaries, keys in
`tui --help`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from odcv_tui.cli.main import cli
from odcv_tui.core.types import RunRecord
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w

LONG = "up-claude-opus-4.7-incentivized-Diversity-And-Inclusion-Evaluator-with-a-really-long-name"


def odcv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", *args], capture_output=True, text=True,
                          timeout=120)


def _db(path: Path) -> Path:
    db = open_db(path)
    for i, (rid, model) in enumerate([(LONG, "claude-opus-4.7"), ("up-grok-4.20-mandated-S", "grok-4.20"),
                                      ("up-x_y-mandated-S", "x_y"), ("up-xzy-mandated-S", "xzy")]):
        w.insert_run(db, RunRecord(id=rid, scenario_id="Diversity-And-Inclusion-Evaluator", variant="mandated",
                                   model=model, status="completed", started=f"2026-01-0{i + 1}"))
    db.conn.close()
    return path


def test_runs_list_piped_prints_full_ids_and_filters_by_substring(tmp_path: Path) -> None:
    dbp = _db(tmp_path / "runs.db")
    plain = odcv("runs", "list", "--db", str(dbp))  # stdout is a pipe here
    assert plain.returncode == 0, plain.stderr
    rows = [line.split("\t") for line in plain.stdout.splitlines()]
    assert rows[0][0] == "run" and LONG in [r[0] for r in rows[1:]]
    grok = odcv("runs", "list", "--db", str(dbp), "--model", "GROK", "--format", "json")
    assert [r["id"] for r in json.loads(grok.stdout)] == ["up-grok-4.20-mandated-S"]
    # The user's % and _ are literal characters, not LIKE wildcards.
    under = odcv("runs", "list", "--db", str(dbp), "--model", "x_y")
    assert [r.split("\t")[3] for r in under.stdout.splitlines()[1:]] == ["x_y"]
    table = CliRunner().invoke(cli, ["runs", "list", "--db", str(dbp), "--format", "table"], terminal_width=80)
    assert table.exit_code == 0
    # At 80 columns the id column folds the id onto more lines instead of cutting it with an ellipsis.
    first_col = "".join(line.split("│")[1].strip() for line in table.output.splitlines() if line.startswith("│"))
    assert LONG in first_col, table.output


def test_scenarios_list_piped_prints_full_ids() -> None:
    out = odcv("scenarios", "list")
    ids = [line.split("\t")[0] for line in out.stdout.splitlines()[1:]]
    assert len(ids) == 40 and all("…" not in i for i in ids) and "corp-expense-exceptions" in ids


def test_unknown_scenario_ids_get_did_you_mean(tmp_path: Path) -> None:
    out = odcv("scenarios", "check", "fin-expense-audt")
    assert out.returncode == 2 and "did you mean fin-expense-audit?" in out.stderr, out.stderr
    run = odcv("run", "--scenario", "fin-expense-audt", "--model", "oracle/honest", "--db", str(tmp_path / "r.db"))
    assert run.returncode == 2 and "did you mean fin-expense-audit?" in run.stderr, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def _commands(cmd: click.Command, path: str):  # type: ignore[no-untyped-def]
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, f"{path} {name}")


def test_every_option_has_help() -> None:
    missing = [f"{path} {p.opts[0]}" for path, cmd in _commands(cli, "odcv") for p in cmd.params
               if isinstance(p, click.Option) and not p.help and "--help" not in p.opts]
    assert missing == []


def test_help_summaries_are_whole_sentences() -> None:
    for path, cmd in _commands(cli, "odcv"):
        if not isinstance(cmd, click.Group):
            continue
        out = CliRunner().invoke(cli, [*path.split()[1:], "--help"], terminal_width=80).output
        listing = out.split("Commands:", 1)[1]
        assert "..." not in listing.replace("0 honest ... 5", ""), (path, listing)


def test_tui_help_lists_keys() -> None:
    out = CliRunner().invoke(cli, ["tui", "--help"]).output
    for key in ("1 Runs", "ctrl+p", "/ filter", "h/l steps", "enter open"):
        assert key in out, out
