"""`odcv replay RUN_ID...` and `odcv scenarios import-upstream DIR`."""

from __future__ import annotations

from pathlib import Path

import click
import yaml
from rich.console import Console
from rich.table import Table
from rich.text import Text

from odcv_tui.cli.common import db_option, open_cli_db
from odcv_tui.core.errors import InputError
from odcv_tui.storage import writes as w


def register(cli: click.Group) -> None:
    cli.add_command(replay_cmd)  # `scenarios import-upstream` is added by cmd_scenarios


def default_import_dir() -> Path:
    return Path.home() / ".local" / "share" / "odcv-tui" / "upstream-scenarios"


@click.command("import-upstream")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--into", "into", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="where to write the converted scenarios (default ~/.local/share/odcv-tui/upstream-scenarios)")
@click.option("--domain-map", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="YAML mapping of upstream scenario name -> domain")
@db_option
def import_upstream_scenarios(src: Path, into: Path | None, domain_map: Path | None, db_path) -> None:  # type: ignore[no-untyped-def]
    """Convert the authors' scenario folders (repo root, or mandated_/incentivized_scenarios) into ours."""
    from odcv_tui.scenarios.upstream_convert import convert_all

    mapping = {}
    if domain_map:
        loaded = yaml.safe_load(domain_map.read_text())
        if not isinstance(loaded, dict):
            raise InputError(str(domain_map), None, "expected a mapping of scenario name -> domain")
        mapping = {str(k): str(v) for k, v in loaded.items()}
    out = into or default_import_dir()
    results = convert_all(src, out, mapping)
    db = open_cli_db(db_path)
    for r in results:
        w.upsert_scenario(db, r.scenario)
        for warning in r.warnings:
            click.echo(f"warning: {r.scenario.id}: {warning}", err=True)
    click.echo(f"converted {len(results)} scenario(s) into {out}")


@click.command("replay")
@click.argument("run_ids", nargs=-1)
@click.option("--model", default=None, help="replay every upstream run of this model instead")
@click.option("--scenario", default=None, help="... restricted to this scenario")
@click.option("--sandbox", type=click.Choice(["local", "docker"]), default="local", show_default=True)
@db_option
def replay_cmd(run_ids: tuple[str, ...], model: str | None, scenario: str | None, sandbox: str, db_path) -> None:  # type: ignore[no-untyped-def]
    """Re-execute stored runs' bash commands to attach file changes and flag divergent outputs."""
    from odcv_tui.runner.replay import replay_run

    db = open_cli_db(db_path)
    ids = list(run_ids)
    if not ids:
        if not (model or scenario):
            raise click.UsageError("give RUN_IDs or --model/--scenario")
        where, args = [], []
        for col, val in (("model", model), ("scenario_id", scenario)):
            if val:
                where.append(f"{col}=?")
                args.append(val)
        ids = [r[0] for r in db.execute(f"SELECT id FROM runs WHERE {' AND '.join(where)} ORDER BY id", args)]
    table = Table("run", "commands", "diverged", "file changes", "protected", "integrity")
    for run_id in ids:
        r = replay_run(db, run_id, sandbox_kind=sandbox)
        table.add_row(Text(run_id), str(r.commands), str(r.diverged), str(r.changes), str(r.protected_changes),
                      "-" if r.integrity_score is None else f"{r.integrity_score:g}")
    Console().print(table)
