"""`odcv import upstream DIR | --download` and `odcv import inspect FILE.eval...`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from odcv_tui.cli.cmd_stats import parse_judge_map
from odcv_tui.cli.common import db_option, open_cli_db
from odcv_tui.core.errors import InputError
from odcv_tui.core.literal import cell


def register(cli: click.Group) -> None:
    cli.add_command(import_group)


@click.group("import")
def import_group() -> None:
    """Import results produced elsewhere (upstream ODCV-Bench results, Inspect AI logs)."""


def _download(ref: str, url: str | None, cache: Path | None, refresh: bool, console: Console) -> Path:
    from odcv_tui.importers.download import archive_url, ensure_results

    with Progress(TextColumn("downloading {task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console, transient=True,
                  disable=not console.is_terminal) as bar:
        task = bar.add_task(f"ODCV-Bench@{ref[:10]}", total=None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        root = ensure_results(ref, url=url, cache=cache, progress=progress, refresh=refresh)
    console.print(f"results cached in {root} (from {archive_url(ref, url)})")
    return root


@import_group.command("upstream")
@click.argument("src", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--download", is_flag=True, help="fetch the authors' repository archive from GitHub (cached)")
@click.option("--ref", default=None, help="commit or tag to download (default: the pinned published commit)")
@click.option("--previous", is_flag=True, help="also import existing_results/previous")
@click.option("--set", "sets", multiple=True, help="result set(s) under existing_results/ (default: current)")
@click.option("--url", default=None, help="archive URL template with {repo} and {ref} (default: GitHub)")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where downloads are cached (default ~/.cache/odcv-tui or $ODCV_CACHE_DIR)")
@click.option("--refresh", is_flag=True, help="download again even if cached")
@click.option("--judge-model", "judge_map", multiple=True, metavar="JUDGE=MODEL",
              help="which model a judge is, so its scores of that model count as self-evaluation")
@db_option
def upstream_cmd(src: Path | None, download: bool, ref: str | None, previous: bool, sets: tuple[str, ...],
                 url: str | None, cache_dir: Path | None, refresh: bool, judge_map: tuple[str, ...],
                 db_path: Path | None) -> None:
    """Import an ODCV-Bench results folder (or repository root) into runs.db."""
    from odcv_tui.importers.download import DEFAULT_REF
    from odcv_tui.importers.upstream import import_upstream

    console = Console(stderr=True)
    if download == (src is not None):
        raise InputError("odcv import upstream", None, "give either DIR or --download")
    if ref and not download:
        raise InputError("--ref", None, "only with --download")
    mapping = parse_judge_map(judge_map)
    wanted = list(sets) or ["current"]
    if previous and "previous" not in wanted:
        wanted.append("previous")
    root = _download(ref or DEFAULT_REF, url, cache_dir, refresh, console) if download else src
    assert root is not None
    t0 = time.perf_counter()
    db = open_cli_db(db_path)
    try:
        with _progress(console) as progress:
            summary = import_upstream(db, root, sets=wanted, judge_models=mapping or None, integrity=True,
                                      progress=progress, workers=os.cpu_count() or 1)
        flagged = _integrity(db, summary.integrity)
    finally:
        db.conn.close()
    for w in summary.warnings:
        click.echo(cell(f"warning: {w}"), err=True)  # file names and run ids are not rich markup
    click.echo(f"{summary.line()} in {time.perf_counter() - t0:.1f}s; {flagged}")


@import_group.command("inspect")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def inspect_cmd(files: tuple[Path, ...], db_path: Path | None) -> None:
    """Import Inspect AI logs (.eval zip, zstd entries included; legacy .json): samples become runs."""
    from odcv_tui.importers.inspect_eval import import_inspect

    db = open_cli_db(db_path)
    try:
        summary = import_inspect(db, list(files), integrity=True)
        flagged = _integrity(db, summary.integrity)
    finally:
        db.conn.close()
    for w in summary.warnings:
        click.echo(cell(f"warning: {w}"), err=True)
    click.echo(f"{summary.line()}; {flagged}")


@contextmanager
def _progress(console: Console) -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar on a terminal (parse/judge, write, index phases of a big import); silent otherwise."""
    with Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


def _integrity(db, written: int) -> str:  # type: ignore[no-untyped-def]
    """Every run gets its integrity verdict (no LLM): the importer judged its runs in memory (imported ones on
    a scenario inferred from the log); any other run still lacking one is judged here."""
    from odcv_tui.judge.integrity_fill import fill_integrity

    n = written + fill_integrity(db, replace_inferred=False)
    flagged = db.execute("SELECT count(*) FROM runs WHERE integrity_flag > 0").fetchone()[0]
    return f"integrity verdicts: {n} written, {flagged} runs flagged"
