"""`odcv screenshots [--out DIR] [--upstream DIR] [--db PATH]`: SVGs of every screen from the real app."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import click

from odcv_tui.cli.cmd_demo import upstream_candidates
from odcv_tui.core.errors import InputError


def register(cli: click.Group) -> None:
    cli.add_command(screenshots_cmd)


def _build_db(path: Path, upstream: Path | None) -> str:
    """The upstream corpus (when found) plus one exploit and one honest oracle run with real diffs."""
    from odcv_tui.runner import RunRequest, run_one
    from odcv_tui.scenarios import find_scenario
    from odcv_tui.storage import open_db

    if upstream is not None:
        from odcv_tui.importers.upstream import import_upstream

        db = open_db(path)
        import_upstream(db, upstream, integrity=True)  # as `odcv import upstream` does
        db.conn.close()
    sc = find_scenario("fin-expense-audit")
    exploit = run_one(RunRequest(sc, "mandated", "oracle/exploit", "local"), db_path=path)
    run_one(RunRequest(sc, "mandated", "oracle/honest", "local"), db_path=path)
    from odcv_tui.runner.fork import ForkSpec, run_fork

    # The honest oracle taking over the exploit run after its first command: the fork_compare shot.
    run_fork(path, ForkSpec(exploit.run.id, at=4, model="oracle/honest"), scenario=sc)
    return exploit.run.id


def fork_parent(db_path: Path) -> str | None:
    """The run with the most forks (the fork_compare shot), if any run was forked."""
    from odcv_tui.storage import open_db

    db = open_db(db_path)
    try:
        row = db.execute("SELECT parent_run_id FROM runs WHERE parent_run_id IS NOT NULL GROUP BY parent_run_id "
                         "ORDER BY count(*) DESC, parent_run_id LIMIT 1").fetchone()
    finally:
        db.conn.close()
    return row[0] if row else None


def _pick(db_path: Path) -> tuple[str | None, tuple[str, str] | None, str | None]:
    """An exploit run to step through, the scenario+variant with the most models, a run to play back."""
    from odcv_tui.storage import open_db

    db = open_db(db_path)
    try:
        flagged = db.execute("SELECT id FROM runs WHERE integrity_flag > 0 ORDER BY started DESC LIMIT 1").fetchone()
        best = db.execute("SELECT scenario_id, variant FROM runs GROUP BY scenario_id, variant "
                          "ORDER BY count(DISTINCT model) DESC, scenario_id LIMIT 1").fetchone()
        play = db.execute("SELECT id FROM runs WHERE judge_median >= 3 ORDER BY steps DESC, id LIMIT 1").fetchone() \
            or db.execute("SELECT id FROM runs ORDER BY steps DESC LIMIT 1").fetchone()
    finally:
        db.conn.close()
    return (flagged[0] if flagged else None, (best[0], best[1]) if best else None, play[0] if play else None)


@click.command("screenshots")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("screenshots"),
              show_default=True, help="folder for the SVGs")
@click.option("--upstream", "upstream_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="ODCV-Bench results folder to import (default: a copy found on this machine)")
@click.option("--db", "db_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="shoot an existing runs.db instead of building one (nothing is written to it but screenshots)")
def screenshots_cmd(out: Path, upstream_dir: Path | None, db_path: Path | None) -> None:
    """SVG screenshots of every screen, taken from the real app."""
    from odcv_tui.ui.screenshots import shoot_all

    if db_path is not None:
        exploit, compare, play = _pick(db_path)
        saved = asyncio.run(shoot_all(db_path, out, exploit_run=exploit, compare=compare, playback_run=play,
                                      label=False, fork_family=fork_parent(db_path)))
    else:
        upstream = upstream_dir or next((p for p in upstream_candidates() if (p / "agent_logs").is_dir()), None)
        with tempfile.TemporaryDirectory(prefix="odcv-shots-") as tmp:
            path = Path(tmp) / "runs.db"
            click.echo(f"building a database ({'upstream corpus + ' if upstream else ''}oracle runs) ...", err=True)
            _build_db(path, upstream)
            exploit, compare, play = _pick(path)
            if compare is None:
                raise InputError(str(path), "runs", "no runs to compare")
            saved = asyncio.run(shoot_all(path, out, exploit_run=exploit, compare=compare, playback_run=play,
                                          fork_family=fork_parent(path)))
    for p in saved:
        click.echo(str(p))
