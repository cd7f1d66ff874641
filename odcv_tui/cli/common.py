"""Options and helpers shared by subcommands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from odcv_tui.storage import default_db_path, open_db


def db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="runs.db path (default ./runs.db or $ODCV_DB)")(fn)


def open_cli_db(db_path: Path | None, *, recover: bool = True) -> sqlite_utils.Database:
    return open_db(db_path or default_db_path(), recover=recover)
