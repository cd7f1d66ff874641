"""`odcv labels stats|export|import|adjudicate|stale|codebook`: archetype label agreement, exchange and adjudication."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from odcv_tui.cli.common import db_option, open_cli_db
from odcv_tui.core.errors import InputError


def register(cli: click.Group) -> None:
    cli.add_command(labels_group)


codebook_option = click.option("--codebook", "codebook_path", type=click.Path(dir_okay=False, path_type=Path),
                               default=None, help="codebook YAML (default: the shipped codebook_v1.yaml)")


@click.group("labels")
def labels_group() -> None:
    """Archetype labels: agreement statistics, export/import, adjudication."""


def _fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


@labels_group.command("stats")
@db_option
@codebook_option
@click.option("--labelers", default=None, help="comma-separated labelers to compare (default: all)")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="output format")
def stats_cmd(db_path: Path | None, codebook_path: Path | None, labelers: str | None, fmt: str) -> None:
    """Per-archetype counts per model and variant, labeler kappas, judge-vs-human agreement, queue."""
    from odcv_tui.labels.agreement import build_report
    from odcv_tui.labels.codebook import load_codebook

    book = load_codebook(codebook_path)
    chosen = [s.strip() for s in labelers.split(",") if s.strip()] if labelers else None
    db = open_cli_db(db_path, recover=False, create=False)  # reading never creates a DB
    try:
        rep = build_report(db, book, chosen)
    finally:
        db.conn.close()
    if fmt == "json":
        click.echo(json.dumps(asdict(rep), indent=2))
        return
    if not rep.runs_labeled:
        raise InputError(str(db_path or "runs.db"), "labels", "no labels yet (press 5 in `odcv tui` to label)")
    console = Console() if sys.stdout.isatty() else Console(width=200)
    used = [k for k in rep.archetypes if any(row[k] for row in rep.counts)]
    t = Table(title=f"Archetype counts (resolved labels, codebook v{rep.codebook_version})", title_justify="left")
    for col in ("model", "variant", "runs", *used):
        t.add_column(col, justify="left" if col in ("model", "variant") else "right")
    for row in rep.counts:
        t.add_row(*(str(row[c]) for c in ("model", "variant", "runs", *used)))
    console.print(t)
    if rep.kappas:
        kt = Table(title="Labeler agreement (per archetype, present/absent)", title_justify="left")
        for col in ("archetype", "method", "labelers", "runs", "kappa", "% agree"):
            kt.add_column(col)
        for k in rep.kappas:
            if k.n:
                kt.add_row(k.archetype, k.method, " / ".join(k.labelers), str(k.n), _fmt(k.kappa),
                           _fmt(None if k.agreement is None else 100 * k.agreement, 1))
        console.print(kt)
    else:
        console.print("labeler agreement: needs two labelers on the same runs")
    if rep.judge:
        jt = Table(title="Judge (median >= 3) vs human (codebook misaligned archetypes)", title_justify="left")
        for col in ("labeler", "runs", "% agree", "kappa", "both mis.", "both ok", "judge only", "human only"):
            jt.add_column(col)
        for j in rep.judge:
            jt.add_row(j.who, str(j.n), _fmt(None if j.agreement is None else 100 * j.agreement, 1), _fmt(j.kappa),
                       str(j.both_misaligned), str(j.both_aligned), str(j.judge_only), str(j.human_only))
        console.print(jt)
    console.print(f"labelers: {', '.join(rep.labelers) or '–'}   runs labeled: {rep.runs_labeled}   "
                  f"adjudication queue: {len(rep.queue_open)} open of {rep.queue_total}   stale labels: {rep.stale}")


@labels_group.command("export")
@db_option
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True,
              help="file format of the export")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="file to write (default: stdout)")
@click.option("--labeler", default=None, help="only this labeler's labels")
def export_cmd(db_path: Path | None, fmt: str, out_path: Path | None, labeler: str | None) -> None:
    """Write every label (with model, scenario and variant for context)."""
    from odcv_tui.labels.io import export_rows, write_export

    db = open_cli_db(db_path, recover=False, create=False)  # reading never creates a DB
    try:
        rows = export_rows(db, labeler)
    finally:
        db.conn.close()
    if out_path is None:
        write_export(rows, fmt, sys.stdout)
        return
    with open(out_path, "w", encoding="utf-8", newline="") as fh:
        n = write_export(rows, fmt, fh)
    click.echo(f"wrote {n} labels to {out_path}", err=True)


@labels_group.command("import")
@db_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "jsonl"]), default="auto", show_default=True,
              help="file format (auto: from the extension)")
def import_cmd(db_path: Path | None, path: Path, fmt: str) -> None:
    """Merge labels from a colleague's export by run and labeler (the newer label wins)."""
    from odcv_tui.labels.io import import_file

    db = open_cli_db(db_path, recover=False)
    try:
        res = import_file(db, path, fmt)
    finally:
        db.conn.close()
    msg = (f"{path}: {res.inserted} new, {res.updated} updated, {res.unchanged} unchanged, "
           f"{res.skipped_older} kept ours (newer)")
    if res.unknown_runs:
        msg += f", {len(res.unknown_runs)} skipped: run not in this DB (e.g. {res.unknown_runs[0]})"
    click.echo(msg)


@labels_group.command("adjudicate")
@db_option
@codebook_option
@click.argument("run_id", required=False)
@click.option("--by", "adjudicator", default=None, help="adjudicator name (required to record a label)")
@click.option("--archetypes", default=None, help="comma-separated archetype keys of the final label")
@click.option("--note", default="", help="why")
def adjudicate_cmd(db_path: Path | None, codebook_path: Path | None, run_id: str | None, adjudicator: str | None,
                   archetypes: str | None, note: str) -> None:
    """Without RUN_ID: list runs where labelers disagree. With it: record the final (adjudicated) label.
    In the TUI: press 5 and pick the order `adjudicate`."""
    from odcv_tui.labels.codebook import load_codebook
    from odcv_tui.labels.session import adjudication_queue
    from odcv_tui.labels.store import LabelRow, read_labels, save_label

    book = load_codebook(codebook_path)
    db = open_cli_db(db_path, recover=False)
    try:
        if run_id is None:
            per_run: dict[str, list[LabelRow]] = {}
            for r in read_labels(db):
                per_run.setdefault(r.run_id, []).append(r)
            open_ids = set(adjudication_queue(per_run, open_only=True))
            for rid in adjudication_queue(per_run):
                state = "open" if rid in open_ids else "settled"
                humans = "  ".join(f"{r.labeler}={','.join(r.archetypes) or '-'}"
                                   for r in per_run[rid] if not r.adjudicated)
                click.echo(f"{state:8} {rid}  {humans}")
            click.echo(f"{len(open_ids)} open", err=True)
            return
        if not adjudicator:
            raise InputError("--by", None, "name the adjudicator to record a final label")
        if archetypes is None:
            raise InputError("--archetypes", None, "give the final archetype keys (comma-separated)")
        keys = sorted({k.strip() for k in archetypes.split(",") if k.strip()})
        unknown = [k for k in keys if book.get(k) is None]
        if unknown:
            raise InputError("--archetypes", None, f"not in codebook v{book.version}: {', '.join(unknown)}")
        hashes = db.execute("SELECT trajectory_hash FROM runs WHERE id=?", [run_id]).fetchone()
        if hashes is None:
            raise InputError(run_id, None, "no such run")
        save_label(db, LabelRow(run_id=run_id, labeler=adjudicator, archetypes=keys, note=note, adjudicated=True,
                                codebook_version=book.version, codebook_hashes=book.hashes(),
                                trajectory_hash=hashes[0] or ""))
    finally:
        db.conn.close()
    click.echo(f"{run_id}: adjudicated by {adjudicator}: {', '.join(keys) or '(none)'}")


@labels_group.command("stale")
@db_option
@codebook_option
def stale_cmd(db_path: Path | None, codebook_path: Path | None) -> None:
    """Labels to revisit: the run was re-imported with other content, or the codebook changed a definition."""
    from odcv_tui.labels.agreement import stale_labels
    from odcv_tui.labels.codebook import load_codebook

    book = load_codebook(codebook_path)
    db = open_cli_db(db_path, recover=False, create=False)  # reading never creates a DB
    try:
        found = stale_labels(db, book)
    finally:
        db.conn.close()
    for row, st in found:
        who = f"{row.labeler}{' (adjudicated)' if row.adjudicated else ''}"
        click.echo(f"{row.run_id}  {who}: {st.reason()}")
    click.echo(f"{len(found)} stale label(s) against codebook v{book.version}", err=True)


@labels_group.command("codebook")
@codebook_option
def codebook_cmd(codebook_path: Path | None) -> None:
    """Check a codebook file and list its archetypes with their hotkeys."""
    from odcv_tui.labels.codebook import load_codebook

    book = load_codebook(codebook_path)
    click.echo(f"codebook v{book.version}: {book.title}")
    for a in book.archetypes:
        click.echo(f"  {a.hotkey}  {a.key:24} {'misaligned' if a.misaligned else 'aligned   '}  {a.name}")
