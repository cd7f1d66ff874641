"""`odcv fork RUN_ID --at STEP --model M`: continue a stored trajectory from step STEP with another model
or an edited prompt, in a sandbox rebuilt to the parent's state at that step."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.text import Text

from odcv_tui.cli.common import db_option, open_cli_db
from odcv_tui.cli.model_options import build_options, model_options, preflight, protocol_option
from odcv_tui.core.errors import InputError
from odcv_tui.core.events import CommandFinished, Event, EventBus, RunFinished, RunStarted
from odcv_tui.core.literal import cell
from odcv_tui.storage import default_db_path


def register(cli: click.Group) -> None:
    cli.add_command(fork_cmd)
    # `odcv runs export|import` (so forks travel with their parents) join the `runs` group of cmd_runs.
    from odcv_tui.cli.cmd_runs import runs_group

    runs_group.add_command(export_cmd)
    runs_group.add_command(import_cmd)


def _read(path: str, option: str) -> str:
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, option, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, option, f"cannot read: {type(exc).__name__}") from None


@click.command("fork")
@click.argument("run_id")
@click.option("--at", "at", type=int, required=True, help="the last parent step the fork keeps (>= 2)")
@click.option("--model", required=True, help="model that continues: oracle/honest, oracle/exploit or any litellm model")
@click.option("--system-prompt", "system_file", default=None, metavar="FILE", help="replace the system prompt")
@click.option("--user-prompt", "user_file", default=None, metavar="FILE", help="replace the user prompt")
@click.option("--edit", "edits", multiple=True, metavar="STEP=FILE",
              help="replace the text of a kept step (assistant text, tool observation, nudge); repeatable")
@click.option("--epochs", type=click.IntRange(1, 100), default=1, show_default=True,
              help="independent continuations from the same fork point")
@click.option("--sandbox", type=click.Choice(["local", "docker"]), default="local", show_default=True,
              help="local (bubblewrap) or docker")
@click.option("--allow-divergence", is_flag=True,
              help="fork even when the replayed state differs from the parent's (flagged on the child)")
@model_options
@protocol_option
@db_option
def fork_cmd(run_id: str, at: int, model: str, system_file: str | None, user_file: str | None,
             edits: tuple[str, ...], epochs: int, sandbox: str, allow_divergence: bool, db_path: Path | None,
             protocol: str | None, **kw: object) -> None:
    """Continue RUN_ID from step AT with MODEL (optionally edited prompts); the child run is linked to its parent.
    The protocol profile defaults to the parent's (imported upstream runs: upstream)."""
    from odcv_tui.runner.fork import ForkSpec, run_fork
    from odcv_tui.runner.fork_plan import parse_edit

    options = build_options(kw)
    preflight([model], options)

    step_edits: dict[int, str] = {}
    for item in edits:
        idx, path = parse_edit(item)
        step_edits[idx] = _read(path, f"--edit {idx}")
    spec = ForkSpec(parent_id=run_id, at=at, model=model, sandbox=sandbox, epochs=epochs,
                    allow_divergence=allow_divergence, step_edits=step_edits, protocol=protocol,
                    settings=options.for_model(model),
                    system_prompt=_read(system_file, "--system-prompt") if system_file else None,
                    user_prompt=_read(user_file, "--user-prompt") if user_file else None)
    path = db_path or default_db_path()
    open_cli_db(path, create=False).conn.close()  # migrate once; a fork needs a DB holding its parent
    console = Console(stderr=True)
    bus = EventBus()

    def on_event(ev: Event) -> None:
        # Literal text only: model names and commands are untrusted (no markup interpretation).
        if isinstance(ev, RunStarted):
            console.print(Text(f"fork {ev.run.id} of {cell(run_id)} at step {ev.run.fork_step}"))
        elif isinstance(ev, CommandFinished):
            first = cell(ev.command.splitlines()[0], 100) if ev.command else ""
            console.print(Text(f"  step {ev.step_idx}: exit {ev.exit_code}  {first}"))
        elif isinstance(ev, RunFinished):
            console.print(Text(f"  {ev.run.status}: {ev.run.steps} steps"))

    bus.subscribe(on_event)
    outcomes = run_fork(path, spec, bus=bus)
    db = open_cli_db(path)
    try:
        for out in outcomes:
            row = db.execute("SELECT fork_edits, integrity_flag FROM runs WHERE id=?", [out.run.id]).fetchone()
            click.echo(f"{out.run.id}\t{out.run.status}\tintegrity={'flagged' if row and row[1] else 'clean'}")
            if row and row[0] and '"allowed_divergence": true' in row[0]:
                click.echo(f"warning: {out.run.id}: parent state not fully reproduced (see fork_edits.state)", err=True)
    finally:
        db.conn.close()


@click.command("export")
@click.argument("run_ids", nargs=-1)
@click.option("--all", "all_runs", is_flag=True, help="every run in the DB")
@click.option("--with-forks", is_flag=True, help="add every fork of the given runs (forks of forks too)")
@click.option("-o", "--output", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="file to write (default: stdout)")
@db_option
def export_cmd(run_ids: tuple[str, ...], all_runs: bool, with_forks: bool, out_path: Path | None,
               db_path: Path | None) -> None:
    """Write runs (steps, file changes, verdicts, replays, fork links) as JSON Lines, one run per line."""
    import sys

    from odcv_tui.storage.run_export import export_lines, with_descendants

    if not run_ids and not all_runs:
        raise click.UsageError("give RUN_IDs or --all")
    db = open_cli_db(db_path, recover=False, create=False)
    try:
        ids = [r[0] for r in db.execute("SELECT id FROM runs ORDER BY started, id")] if all_runs else list(run_ids)
        if with_forks:
            ids = with_descendants(db, ids)
        if out_path is None:
            for line in export_lines(db, ids):
                sys.stdout.write(line + "\n")
            return
        with out_path.open("w", encoding="utf-8") as fh:
            n = sum(fh.write(line + "\n") > 0 for line in export_lines(db, ids))
        click.echo(f"exported {n} run(s) to {out_path}", err=True)
    finally:
        db.conn.close()


@click.command("import")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
def import_cmd(src: Path, db_path: Path | None) -> None:
    """Read runs written by `odcv runs export` (a run already stored with the same id is replaced)."""
    from odcv_tui.storage.run_export import import_lines

    db = open_cli_db(db_path)
    try:
        with src.open(encoding="utf-8") as fh:
            res = import_lines(db, fh, str(src))
    finally:
        db.conn.close()
    click.echo(f"imported {res.runs} run(s) ({res.replaced} replaced)")
    for rid in res.dangling_parents:
        click.echo(f"warning: {rid}: its parent run is not in this DB (the link is kept)", err=True)
