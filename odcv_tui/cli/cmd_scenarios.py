"""`odcv scenarios list|validate|check`."""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from odcv_tui.cli.common import db_option, default_format
from odcv_tui.core.literal import cell
from odcv_tui.scenarios import builtin_scenarios_dir, load_all, load_scenario
from odcv_tui.scenarios.loader import did_you_mean, scenario_files


def register(cli: click.Group) -> None:
    from odcv_tui.cli.cmd_replay import import_upstream_scenarios

    scenarios_group.add_command(import_upstream_scenarios)
    cli.add_command(scenarios_group)


@click.group("scenarios")
def scenarios_group() -> None:
    """List, validate and check scenarios."""


@scenarios_group.command("list")
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="scenario folder (default: the built-in library)")
@click.option("--format", "fmt", type=click.Choice(["table", "plain", "json", "markdown"]), default=None,
              help="table (default at a terminal), plain tab-separated rows with full ids (default when piped), "
                   "json or markdown")
def list_cmd(root: Path | None, fmt: str | None) -> None:
    """Every scenario with its domain, gap kinds and KPI, then the count per domain."""
    scenarios = sorted(load_all(root), key=lambda s: (s.domain, s.id))
    fmt = fmt or default_format()
    if fmt == "plain":
        click.echo("id\tdomain\tgap kinds\tKPI")
        for s in scenarios:
            click.echo("\t".join([cell(s.id), cell(s.domain), cell(",".join(s.gap_kinds)), cell(s.kpi)]))
        return
    if fmt == "json":
        click.echo(json.dumps([{"id": s.id, "domain": s.domain, "title": s.title, "gap_kinds": s.gap_kinds,
                                "kpi": s.kpi, "framing_pair": s.framing_pair} for s in scenarios], indent=2))
        return
    if fmt == "markdown":
        click.echo("| id | domain | gap kinds | KPI |\n|---|---|---|---|")
        for s in scenarios:
            kpi = s.kpi.replace("|", "\\|").replace("\n", " ")
            click.echo(f"| {cell(s.id)} | {cell(s.domain)} | {', '.join(s.gap_kinds)} | {cell(kpi)} |")
        return
    table = Table(title=f"{len(scenarios)} scenarios")
    table.add_column("id", overflow="fold")  # ids wrap, never cut: they are what `odcv run --scenario` needs
    for h in ("domain", "gap kinds", "KPI"):
        table.add_column(h)
    for s in scenarios:
        table.add_row(Text(cell(s.id)), Text(cell(s.domain)), Text(cell(", ".join(s.gap_kinds))), Text(cell(s.kpi)))
    console = Console()
    console.print(table)
    counts = Counter(s.domain for s in scenarios)
    console.print(Text("  ".join(f"{d}: {n}" for d, n in sorted(counts.items()))))


@scenarios_group.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate_cmd(paths: tuple[Path, ...]) -> None:
    """Check scenario YAML files (default: the whole library). First error: one line, exit 2."""
    files: list[Path] = []
    for p in paths or (builtin_scenarios_dir(),):
        files.extend(scenario_files(p) if p.is_dir() and not (p / "scenario.yaml").exists() else [p])
    if not files:
        raise click.UsageError(f"no scenario.yaml under {', '.join(map(str, paths))}")
    for f in files:
        load_scenario(f)
    click.echo(f"{len(files)} scenario(s) valid")


@scenarios_group.command("check")
@click.argument("ids", nargs=-1)
@click.option("--sandbox", type=click.Choice(["local", "docker"]), default="local", show_default=True,
              help="local (bubblewrap) or docker")
@click.option("--concurrency", type=click.IntRange(1, 32), default=2, show_default=True,
              help="scenario variants checked at the same time")
@click.option("--dir", "root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="scenario folder (default: the built-in library)")
@db_option
def check_cmd(ids: tuple[str, ...], sandbox: str, concurrency: int, root: Path | None, db_path) -> None:  # type: ignore[no-untyped-def]
    """Run both oracles on every scenario x variant; fail unless honest misses cleanly and exploit is caught."""
    from odcv_tui.runner.checker import check_scenarios

    scenarios = load_all(root)
    if ids:
        known = {s.id for s in scenarios}
        missing = [i for i in ids if i not in known]
        if missing:
            raise click.UsageError(f"unknown scenario id(s): {', '.join(missing)}"
                                   + did_you_mean(missing[0], sorted(known)))
        scenarios = [s for s in scenarios if s.id in ids]
    tmp = None
    if db_path is None:
        tmp = tempfile.TemporaryDirectory(prefix="odcv-check-")
        db_path = Path(tmp.name) / "check.db"
    t0 = time.monotonic()
    results = check_scenarios(scenarios, sandbox=sandbox, db_path=db_path, concurrency=concurrency)
    wall = time.monotonic() - t0
    table = Table("scenario", "variant", "result", "problems", title=f"scenario check ({sandbox})")
    for r in results:
        table.add_row(Text(r.scenario_id), r.variant, "ok" if r.ok else "FAIL", Text("; ".join(r.problems)))
    console = Console()
    console.print(table)
    bad = [r for r in results if not r.ok]
    console.print(f"{len(results) - len(bad)}/{len(results)} scenario variants pass; wall time {wall:.1f} s")
    if tmp:
        tmp.cleanup()
    if bad:
        raise SystemExit(1)
