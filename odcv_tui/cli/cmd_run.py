"""`odcv run`: a sweep of scenarios x variants x models x epochs, here (threads) or on a Ray cluster,
with resume, a cost budget, judging as runs finish and a live summary line."""

from __future__ import annotations

from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from odcv_tui.agent.protocols import get_profile
from odcv_tui.cli.common import db_option, open_cli_db
from odcv_tui.cli.model_options import build_options, model_options, preflight, protocol_option
from odcv_tui.core.errors import InputError
from odcv_tui.core.events import Event, ModelRetrying
from odcv_tui.core.literal import cell
from odcv_tui.core.types import VARIANTS
from odcv_tui.llm.settings import ModelOptions
from odcv_tui.storage import default_db_path

TABLE_MAX = 200  # a whole-library sweep's per-run table belongs to `odcv runs list`, not the terminal


def register(cli: click.Group) -> None:
    cli.add_command(run_cmd)


@click.command("run")
@click.option("--scenario", "scenario_ids", multiple=True,
              help="all, domain:NAME, source:ours|upstream, a glob over ids (fin-*), an id or a folder (repeatable)")
@click.option("--variant", type=click.Choice(["mandated", "incentivized", "both"]), default="both", show_default=True,
              help="prompt variant(s) to run")
@click.option("--model", "models", multiple=True,
              help="oracle/honest, oracle/exploit, or any litellm model (repeatable)")
@click.option("--sandbox", type=click.Choice(["local", "docker"]), default="local", show_default=True,
              help="local (bubblewrap) or docker, on the node that runs the run")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="runs at the same time with --executor thread (Ray: one run per free CPU of the cluster)")
@click.option("--max-steps", "max_steps", type=click.IntRange(1, 500), default=None,
              help="max model calls per run (default from the scenario, 50)")
@click.option("--timeout", "command_timeout", type=click.FloatRange(0.1, 3600), default=None,
              help="seconds per command (default from the scenario, 30)")
@click.option("--epochs", type=click.IntRange(1, 100), default=1, show_default=True,
              help="samples of each scenario x variant x model cell (stored as runs.epoch)")
@click.option("--resume", "resume_id", default=None, metavar="SWEEP_ID",
              help="finish a sweep: skip its completed cells, re-run its error/interrupted ones")
@click.option("--retry-errors", is_flag=True, help="re-run every run that ended in error and has no completed run "
                                                   "of its cell since (like the authors' retry_missing.py)")
@click.option("--max-cost", type=click.FloatRange(0, None), default=None, metavar="USD",
              help="stop launching once spent + in-flight estimate reaches this; runs in flight finish")
@click.option("--judge", "judges", multiple=True, metavar="JUDGE",
              help="judge each run as it finishes (odcv judge --judge syntax; repeatable)")
@click.option("--executor", type=click.Choice(["thread", "ray"]), default="thread", show_default=True,
              help="thread: this machine; ray: tasks on a Ray cluster (pip install 'odcv-tui[ray]')")
@click.option("--ray-address", default=None, help="Ray cluster address (default: the running cluster, `auto`)")
@protocol_option
@model_options
@db_option
def run_cmd(scenario_ids: tuple[str, ...], variant: str, models: tuple[str, ...], sandbox: str,
            concurrency: int, max_steps: int | None, command_timeout: float | None, epochs: int,
            resume_id: str | None, retry_errors: bool, max_cost: float | None, judges: tuple[str, ...],
            executor: str, ray_address: str | None, db_path, protocol: str | None,  # type: ignore[no-untyped-def]
            **model_kw: Any) -> None:
    """Run scenarios with models in sandboxes; every step lands in runs.db as it happens. Each invocation is
    a sweep with an id (printed first): `--resume` it after a stop, a budget or a lost node."""
    from odcv_tui.runner.sweep import Sweep, retry_error_cells
    from odcv_tui.runner.sweep_spec import SweepSpec

    options = build_options(model_kw)
    get_profile(protocol)  # an unknown profile: one line before anything starts
    prof = {"protocol": protocol, "model_options": options.to_dict()}
    path = db_path or default_db_path()
    open_cli_db(path).conn.close()  # migrate once (and mark orphans interrupted) before threads start
    if resume_id:
        sweep = Sweep.resume(path, resume_id)
        # The sweep keeps its own protocol and model settings (key variable names only): check them again.
        preflight(sweep.spec.models, ModelOptions.from_dict(sweep.spec.model_options))
        # Where it runs may change on resume (a cluster came up); what it runs may not.
        sweep.spec.executor, sweep.spec.concurrency = executor, concurrency
        sweep.spec.ray_address = ray_address or sweep.spec.ray_address
        if max_cost is not None:
            sweep.spec.max_cost = max_cost
    elif retry_errors:
        todo = retry_error_cells(path)
        if not todo:
            click.echo("odcv: no error runs to retry", err=True)
            return
        spec = SweepSpec(scenarios=sorted({c.scenario_id for c in todo}), variants=list(VARIANTS),
                         models=sorted({c.model for c in todo}), sandbox=sandbox, max_steps=max_steps,
                         command_timeout=command_timeout, max_cost=max_cost, judges=list(judges),
                         executor=executor, concurrency=concurrency, ray_address=ray_address, **prof)
        preflight(spec.models, options)
        sweep = Sweep(path, spec, todo=todo)
    else:
        if not scenario_ids:
            raise InputError("--scenario", None, "required (or --resume SWEEP_ID, or --retry-errors)")
        if not models:
            raise InputError("--model", None, "required (or --resume SWEEP_ID, or --retry-errors)")
        spec = SweepSpec(scenarios=list(scenario_ids), variants=list(VARIANTS) if variant == "both" else [variant],
                         models=list(models), epochs=epochs, sandbox=sandbox, max_steps=max_steps,
                         command_timeout=command_timeout, max_cost=max_cost, judges=list(judges),
                         executor=executor, concurrency=concurrency, ray_address=ray_address, **prof)
        preflight(spec.models, options)
        sweep = Sweep(path, spec)
    console = Console(stderr=True)
    console.print(Text(f"sweep {sweep.sweep_id}: {len(sweep.plan())} run(s) to do of {sweep.summary.total} "
                       f"cell(s), executor {sweep.spec.executor}"))
    outcomes: list = []  # type: ignore[type-arg]
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        task = progress.add_task("starting", total=sweep.summary.total)

        def on_summary(s) -> None:  # type: ignore[no-untyped-def]
            progress.update(task, completed=s.done + s.failed + s.interrupted, description=escape(cell(s.line())))

        def on_event(ev: Event) -> None:  # the attempt counter of a failing provider, one line per retry
            if isinstance(ev, ModelRetrying):
                progress.update(task, description=escape(cell(f"{ev.run_id}: attempt {ev.attempt}/{ev.attempts}")))
                console.print(Text(cell(f"{ev.run_id}: {ev.error}; attempt {ev.attempt}/{ev.attempts} "
                                        f"in {ev.wait:g} s")))

        sweep.bus.subscribe(on_event)
        summary = sweep.run(on_summary=on_summary, on_run=outcomes.append)
    if len(outcomes) <= TABLE_MAX:
        table = Table("run", "scenario", "variant", "model", "epoch", "status", "steps", "integrity")
        db = open_cli_db(path, recover=False)
        for run in outcomes:
            row = db.execute("SELECT integrity_flag FROM runs WHERE id=?", [run.id]).fetchone()
            flag = {None: "-", 0: "clean", 1: "FLAGGED"}.get(row[0] if row else None, "-")
            table.add_row(Text(cell(run.id)), Text(cell(run.scenario_id)), run.variant, Text(cell(run.model)),
                          str(run.epoch or "-"), run.status, str(run.steps), flag)
        db.conn.close()
        Console().print(table)
    click.echo(cell(summary.line()), err=True)
    for run in outcomes:
        if run.status == "error":
            click.echo(f"odcv: error: run {cell(run.id)}: {cell(run.error)}", err=True)  # setup stderr is agent-made
    if summary.status in ("incomplete", "budget"):
        click.echo(f"odcv: resume with: odcv run --resume {summary.sweep_id}", err=True)
    if summary.failed or summary.interrupted:
        raise SystemExit(1)
