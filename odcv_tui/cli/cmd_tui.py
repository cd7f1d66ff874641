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
    """Open the explorer (runs, trajectories, compare, live, stats, labels)."""
    path = db_path or default_db_path()
    open_db(path).conn.close()  # migrate / refuse a newer schema before the UI starts, with a one-line error
    from odcv_tui.ui.app import OdcvApp

    OdcvApp(path).run()
