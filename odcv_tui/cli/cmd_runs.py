"""`odcv runs list`: stored runs, newest first, as a table (terminal), tab-separated plain rows (pipes) or JSON.

Every cell that came from a model, an import or a scenario file goes through core.literal first, so an imported
model name cannot set the clipboard (OSC 52) or clear the screen of whoever lists the runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import sqlite_utils
from rich.console import Console
from rich.table import Table
from rich.text import Text

from odcv_tui.cli.common import db_option, default_format, open_cli_db
from odcv_tui.core.literal import cell

COLUMNS = ("id", "scenario_id", "variant", "model", "status", "steps", "judge_median", "integrity_flag", "started")
HEADERS = ("run", "scenario", "variant", "model", "status", "steps", "judge", "integrity", "started")


def register(cli: click.Group) -> None:
    cli.add_command(runs_group)


@click.group("runs")
def runs_group() -> None:
    """Inspect stored runs (full ids when piped or with --format plain|json)."""


def _like(value: str) -> str:
    # Substring match like the TUI's filter; % and _ typed by the user are literal characters.
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def query_runs(db: sqlite_utils.Database, *, model: str | None = None, scenario: str | None = None,
               variant: str | None = None, status: str | None = None, source: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    where: list[str] = []
    args: list[Any] = []
    for col, val in (("model", model), ("scenario_id", scenario)):
        if val:
            where.append(f"{col} LIKE ? ESCAPE '\\'")
            args.append(_like(val))
    for col, val in (("variant", variant), ("status", status), ("source", source)):
        if val:
            where.append(f"{col} = ?")
            args.append(val)
    sql = f"SELECT {', '.join(COLUMNS)} FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY started DESC, id"
    if limit:
        sql += " LIMIT ?"
        args.append(int(limit))
    return list(db.query(sql, args))


def _flag(v: Any) -> str:
    return "-" if v is None else ("FLAGGED" if v else "clean")


def _median(v: Any) -> str:
    return "-" if v is None else f"{v:g}"


@runs_group.command("list")
@click.option("--model", default=None, metavar="TEXT", help="runs whose model contains TEXT (case-insensitive)")
@click.option("--scenario", default=None, metavar="TEXT", help="runs whose scenario id contains TEXT")
@click.option("--variant", type=click.Choice(["mandated", "incentivized"]), default=None,
              help="only this prompt variant")
@click.option("--status", type=click.Choice(["running", "completed", "step_limit", "error", "interrupted"]),
              default=None, help="only runs that ended with this status")
@click.option("--source", default=None, metavar="NAME", help="only runs from this source (live, upstream, inspect)")
@click.option("--limit", type=click.IntRange(1), default=50, show_default=True, help="at most this many runs")
@click.option("--format", "fmt", type=click.Choice(["table", "plain", "json"]), default=None,
              help="table (default at a terminal), plain tab-separated rows with full ids (default when piped), "
                   "or json")
@db_option
def runs_list(model: str | None, scenario: str | None, variant: str | None, status: str | None,
              source: str | None, limit: int, fmt: str | None, db_path: Path | None) -> None:
    """List runs, newest first."""
    db = open_cli_db(db_path, create=False)
    try:
        rows = query_runs(db, model=model, scenario=scenario, variant=variant, status=status, source=source,
                          limit=limit)
    finally:
        db.conn.close()
    fmt = fmt or default_format()
    if fmt == "json":
        click.echo(json.dumps(rows,
                              indent=2, ensure_ascii=True))  # \u001b, never a raw escape
        return
    if fmt == "plain":
        click.echo("\t".join(HEADERS))
        for r in rows:
            click.echo("\t".join([cell(r["id"]), cell(r["scenario_id"]), cell(r["variant"]), cell(r["model"]),
                                  cell(r["status"]), str(r["steps"] or 0), _median(r["judge_median"]),
                                  _flag(r["integrity_flag"]), cell(r["started"])]))
        return
    table = Table(title=f"{len(rows)} runs" + (f" (limit {limit})" if len(rows) == limit else ""))
    # Ids fold onto a second line rather than being cut: they are what `odcv replay`/`--runs` need.
    for h in HEADERS[:-1]:
        table.add_column(h, overflow="fold" if h in ("run", "scenario", "model") else "ellipsis")
    for r in rows:
        table.add_row(Text(cell(r["id"])), Text(cell(r["scenario_id"])), Text(cell(r["variant"])),
                      Text(cell(r["model"])), Text(cell(r["status"])), str(r["steps"] or 0),
                      _median(r["judge_median"]), _flag(r["integrity_flag"]))
    Console().print(table)
