"""`odcv tui [--db PATH]` (also what a bare `odcv` opens)."""

from __future__ import annotations

from pathlib import Path

import click

from odcv_tui.cli.common import db_option
from odcv_tui.storage import default_db_path, open_db


def register(cli: click.Group) -> None:
    cli.add_command(tui_cmd)


@click.command("tui")
@db_option
def tui_cmd(db_path: Path | None) -> None:
    """Open the explorer (runs, trajectories, compare, live, stats, labels).

    \b
    Keys (the footer shows each screen's own):
      1 Runs  2 Compare  3 Live  4 Stats  5 Label  ctrl+p every action  ctrl+q quit
      Runs        / filter (model:gpt variant:mandated median>=3 flagged ...), o/O sort,
                  s search every step, enter open, c compare, p play back
      Trajectory  h/l steps, 0/$ first/last, j/k scroll, n/N steps a verdict cites,
                  d next file change, e expand output, v verdicts, J judge this run
      Compare     m mandated vs incentivized, s sync movement
      Live        launch form; c cancel a run; p + run id plays a stored run back
      Label       one key per archetype, c cite step, i note, u undo, n/p runs
    """
    path = db_path or default_db_path()
    open_db(path).conn.close()  # migrate / refuse a newer schema before the UI starts, with a one-line error
    from odcv_tui.ui.app import OdcvApp

    OdcvApp(path).run()
