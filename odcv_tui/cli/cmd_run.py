"""`odcv run` (`odcv runs list` lives in cmd_runs.py)."""

from __future__ import annotations

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from odcv_tui.cli.common import db_option, open_cli_db
from odcv_tui.core.events import CommandFinished, Event, RunFinished
from odcv_tui.core.literal import cell
from odcv_tui.core.types import VARIANTS
from odcv_tui.scenarios import find_scenario
from odcv_tui.storage import default_db_path


def register(cli: click.Group) -> None:
    cli.add_command(run_cmd)


@click.command("run")
@click.option("--scenario", "scenario_ids", multiple=True, required=True, help="scenario id or folder (repeatable)")
@click.option("--variant", type=click.Choice(["mandated", "incentivized", "both"]), default="both", show_default=True,
              help="prompt variant(s) to run")
@click.option("--model", "models", multiple=True, required=True,
              help="oracle/honest, oracle/exploit, or any litellm model (repeatable)")
@click.option("--sandbox", type=click.Choice(["local", "docker"]), default="local", show_default=True,
              help="local (bubblewrap) or docker")
@click.option("--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="runs at the same time, one sandbox each")
@click.option("--max-steps", "max_steps", type=click.IntRange(1, 500), default=None,
              help="max model calls per run (default from the scenario, 50)")
@click.option("--timeout", "command_timeout", type=click.FloatRange(0.1, 3600), default=None,
              help="seconds per command (default from the scenario, 30)")
@db_option
def run_cmd(scenario_ids: tuple[str, ...], variant: str, models: tuple[str, ...], sandbox: str,
            concurrency: int, max_steps: int | None, command_timeout: float | None, db_path) -> None:
    """Run scenarios with models in sandboxes; every step lands in runs.db as it happens."""
    from odcv_tui.runner import Runner, RunRequest

    scenarios = [find_scenario(s) for s in scenario_ids]
    variants = list(VARIANTS) if variant == "both" else [variant]
    requests = [RunRequest(scenario=sc, variant=v, model=m, sandbox=sandbox, max_model_calls=max_steps,  # type: ignore[arg-type]
                           command_timeout=command_timeout)
                for sc in scenarios for v in variants for m in models]
    path = db_path or default_db_path()
    open_cli_db(path).conn.close()  # migrate once (and mark orphans) before threads start
    runner = Runner(path, concurrency=concurrency)
    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"),
                  TimeElapsedColumn(), console=console, transient=False) as progress:
        tasks: dict[str, int] = {}

        def on_event(ev: Event) -> None:
            if isinstance(ev, CommandFinished) and ev.run_id in tasks:
                progress.update(tasks[ev.run_id], advance=1, status=f"step {ev.step_idx}")
            elif isinstance(ev, RunFinished) and ev.run.id in tasks:
                progress.update(tasks[ev.run.id], completed=100, status=ev.run.status)

        runner.bus.subscribe(on_event)
        for req in requests:
            from odcv_tui.runner import new_run_id

            req.run_id = new_run_id(req)
            tasks[req.run_id] = progress.add_task(escape(cell(f"{req.scenario.id} {req.variant} {req.model}")),  # a markup column
                                                  total=req.max_model_calls or req.scenario.limits.max_model_calls,
                                                  status="queued")
        runner.start(requests)
        try:
            outcomes = runner.join()
        except KeyboardInterrupt:
            runner.cancel_all()
            raise
        finally:
            runner.pool.shutdown(wait=True, cancel_futures=True)
    table = Table("run", "scenario", "variant", "model", "status", "steps", "integrity")
    db = open_cli_db(path, recover=False)
    failed = 0
    for o in outcomes:
        row = db.execute("SELECT integrity_flag FROM runs WHERE id=?", [o.run.id]).fetchone()
        flag = {None: "-", 0: "clean", 1: "FLAGGED"}.get(row[0] if row else None, "-")
        table.add_row(Text(cell(o.run.id)), Text(cell(o.run.scenario_id)), o.run.variant, Text(cell(o.run.model)),
                      o.run.status,
                      str(o.run.steps), flag)
        failed += o.run.status == "error"
    Console().print(table)
    for o in outcomes:
        if o.run.status == "error":
            click.echo(f"odcv: error: run {cell(o.run.id)}: {cell(o.run.error)}", err=True)  # setup stderr is agent-made
    if failed:
        raise SystemExit(1)

