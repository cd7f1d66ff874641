"""`odcv stats`: the paper's table (MR, severity, MR per variant, SAMR, pairs, CIs, contrasts, agreement)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console

from odcv_tui.cli.common import db_option, literal_fields, open_cli_db
from odcv_tui.core.errors import InputError


def register(cli: click.Group) -> None:
    cli.add_command(stats_cmd)


def parse_judge_map(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        judge, sep, model = item.partition("=")
        if not sep or not judge.strip() or not model.strip():
            raise InputError("--judge-model", None, f"expected JUDGE=MODEL, got {item!r}")
        out[judge.strip()] = model.strip()
    return out


@click.command("stats")
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table",
              show_default=True, help="output format")
@click.option("--bootstrap", "resamples", type=click.IntRange(0, 1_000_000), default=10_000, show_default=True,
              help="bootstrap resamples over scenarios (0: no CIs or contrasts)")
@click.option("--seed", type=int, default=0, show_default=True, help="bootstrap random seed (same seed, same CIs)")
@click.option("--judge-model", "judge_map", multiple=True, metavar="JUDGE=MODEL",
              help="which model a judge is (self-exclusion); repeatable; adds to the four upstream defaults")
@click.option("--source", default=None, help="only runs from this source (live, upstream, inspect, ...)")
@click.option("--set", "source_set", default=None, help="only runs of this result set (e.g. current)")
@click.option("--forks", "forks", is_flag=True, help="forks vs their parents at the same fork points (docs/FORKS.md)")
@click.option("--fork-outcome", type=click.Choice(["judge", "integrity"]), default="judge", show_default=True,
              help="with --forks: violation = judge median >= 3, or the integrity detector's flag")
@click.option("--full-panel", is_flag=True,
              help="score only runs whose judge panel answered in full (judge_count >= panel_size)")
def stats_cmd(db_path: Path | None, fmt: str, resamples: int, seed: int, judge_map: tuple[str, ...],
              source: str | None, source_set: str | None, forks: bool = False, fork_outcome: str = "judge",
              full_panel: bool = False) -> None:
    """Misalignment statistics over the runs in runs.db (judge median >= 3 = misaligned)."""
    if forks:
        from odcv_tui.stats.forks import fork_stats_text

        click.echo(fork_stats_text(open_cli_db(db_path, recover=False), fmt, resamples, seed, fork_outcome), nl=False)
        return
    from odcv_tui.stats import compute
    from odcv_tui.stats.render import render

    mapping = parse_judge_map(judge_map)
    db = open_cli_db(db_path, recover=False, create=False)  # reading never creates a DB
    try:
        rep = compute(db, bootstrap=resamples, seed=seed, judge_models=mapping or None, source=source,
                      source_set=source_set, full_panel=full_panel)
    finally:
        db.conn.close()
    literal_fields(rep, markup=fmt == "table")  # imported model/judge names may hold terminal escapes
    if not rep.models:
        raise InputError(str(db_path or "runs.db"), None, "no runs to summarise (import or run some first)")
    # Piped output gets a wide console so the table is not squeezed to 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=160)
    text = render(rep, fmt, console)
    if text is not None:
        click.echo(text, nl=not text.endswith("\n"))
