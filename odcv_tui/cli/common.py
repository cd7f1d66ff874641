"""Options and helpers shared by subcommands."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from odcv_tui.storage import default_db_path, open_db


def db_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="runs.db path (default ./runs.db or $ODCV_DB); its folder must exist")(fn)


def open_cli_db(db_path: Path | None, *, recover: bool = True, create: bool = True,
                check: bool = True) -> sqlite_utils.Database:
    """Commands that only read pass create=False: a missing file is a one-line error, never a new empty DB.
    `check` runs SQLite's quick_check so a corrupt page fails the command instead of giving partial output."""
    return open_db(db_path or default_db_path(), recover=recover, create=create, check=check)


def default_format() -> str:
    """Tables for a person at a terminal; full-width plain rows when piped, since ids are what the next
    command needs and a table would cut them."""
    return "table" if sys.stdout.isatty() else "plain"


def literal_fields(obj: Any, *, markup: bool = False) -> Any:
    """Every string inside a result dataclass (model names, scenario ids, judge names...) made literal for the
    terminal, in place; with `markup`, also escaped for rich, whose tables parse `[...]` in plain strings.
    The same function is applied everywhere, so strings used as lookup keys still match each other."""
    from rich.markup import escape

    from odcv_tui.core.literal import clean

    def fix(v: Any) -> Any:
        if isinstance(v, str):
            s = clean(v)
            return escape(s) if markup else s
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, tuple):
            return tuple(fix(x) for x in v)
        if isinstance(v, dict):
            return {fix(k): fix(x) for k, x in v.items()}
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            for f in dataclasses.fields(v):
                setattr(v, f.name, fix(getattr(v, f.name)))
        return v

    return fix(obj)
