"""`odcv replay RUN_ID...` and `odcv scenarios import-upstream DIR`."""

from __future__ import annotations

import os
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


class _RunByDefault(click.Group):
    """`odcv replay RUN_ID...` replays; `odcv replay report` prints the divergence table."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        elif not args:
            args = ["run"]
        return super().parse_args(ctx, args)


@click.group("replay", cls=_RunByDefault)
def replay_cmd() -> None:
    """Re-execute stored runs' bash commands (as the authors' orchestrator did: /bin/sh, 30 s timeout) to
    attach file changes, and classify every divergence from the recorded output."""


# Two runs per core: a run waits on its commands' sleeps and I/O part of the time. On the 2-core box all 950
# upstream runs took 342 s at -j 2 (a 96-run sample left a third of the CPU idle) and 239-258 s at -j 4 (97%
# busy) with the same divergence counts to within 3 of 9,539 commands (benchmarks/bench_replay.py).
DEFAULT_JOBS = min(16, 2 * (os.cpu_count() or 1))


@replay_cmd.command("run")
@click.argument("run_ids", nargs=-1)
@click.option("--all", "all_runs", is_flag=True, help="replay every run whose scenario was imported with files")
@click.option("--model", default=None, help="replay every run of this model instead")
@click.option("--scenario", default=None, help="... restricted to this scenario")
@click.option("--sandbox", type=click.Choice(["local", "docker"]), default="local", show_default=True,
              help="local (bubblewrap) or docker")
@click.option("--concurrency", "-j", type=click.IntRange(1, 64), default=DEFAULT_JOBS, show_default=True,
              help="runs replayed at the same time (default: 2 per core)")
@db_option
def replay_run_cmd(run_ids: tuple[str, ...], all_runs: bool, model: str | None, scenario: str | None,  # type: ignore[no-untyped-def]
                   sandbox: str, concurrency: int, db_path) -> None:
    """Replay RUN_IDs (or --all, or --model/--scenario) and print what diverged."""
    from odcv_tui.runner.replay import replay_run, replayable_runs

    db = open_cli_db(db_path)
    ids = list(run_ids)
    if all_runs:
        ids, missing = replayable_runs(db)
        if missing:
            click.echo(f"skipping {len(missing)} run(s) whose scenario is not imported "
                       "(odcv scenarios import-upstream DIR)", err=True)
    elif not ids:
        if not (model or scenario):
            raise click.UsageError("give RUN_IDs, --all or --model/--scenario")
        where, args = [], []
        for col, val in (("model", model), ("scenario_id", scenario)):
            if val:
                where.append(f"{col}=?")
                args.append(val)
        ids = [r[0] for r in db.execute(f"SELECT id FROM runs WHERE {' AND '.join(where)} ORDER BY id", args)]
    if len(ids) == 1:  # one run: errors (unknown run, scenario not imported) are one-line CLI errors
        results = [replay_run(db, ids[0], sandbox_kind=sandbox)]
    else:
        results = _replay_with_progress(db_path_of(db), ids, sandbox, concurrency)
    _print_results(results, detail=len(ids) <= 20)


def db_path_of(db) -> str:  # type: ignore[no-untyped-def]
    return db.execute("PRAGMA database_list").fetchone()[2]


def _replay_with_progress(path: str, ids: list[str], sandbox: str, concurrency: int) -> list:  # type: ignore[type-arg]
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from odcv_tui.runner.replay import replay_many

    err = Console(stderr=True)
    with Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(), TextColumn("runs"),
                  TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err,
                  disable=not ids) as bar:
        task = bar.add_task("replay", total=len(ids))
        results = replay_many(path, ids, sandbox_kind=sandbox, concurrency=concurrency,
                              on_done=lambda _r: bar.advance(task))
    for r in results:
        if r.error:
            err.print(Text(f"error: {r.run_id}: {r.error}"))
    return results


def _print_results(results: list, detail: bool) -> None:  # type: ignore[type-arg]
    console = Console()
    if detail:
        table = Table("run", "commands", "diverged", "nondet.", "env.", "state", "other", "file changes",
                      "protected", "integrity")
        for r in results:
            table.add_row(Text(r.run_id), str(r.commands), str(r.diverged),
                          *(str(r.classes.get(c, 0)) for c in ("nondeterministic", "environment", "state", "other")),
                          str(r.changes), str(r.protected_changes),
                          "-" if r.integrity_score is None else f"{r.integrity_score:g}")
        console.print(table)
    cmds = sum(r.commands for r in results)
    div = sum(r.diverged for r in results)
    failed = sum(r.error is not None for r in results)
    console.print(f"replayed {len(results) - failed} run(s), {cmds} commands, {div} diverged"
                  + (f"; {failed} run(s) failed" if failed else "") + " (odcv replay report for the table)")


@replay_cmd.command("report")
@click.option("--by", "by", type=click.Choice(["model", "scenario", "both"]), default="both", show_default=True,
              help="group the divergence report by model, by scenario, or both")
@click.option("--reclassify", is_flag=True, help="re-derive the classes from stored outputs first (no re-run)")
@click.option("--reasons/--no-reasons", default=True, show_default=True,
              help="list the rules behind environment and other divergences")
@db_option
def replay_report_cmd(by: str, reclassify: bool, reasons: bool, db_path) -> None:  # type: ignore[no-untyped-def]
    """Replayed commands and their divergences per class (counts and % of replayed commands)."""
    from odcv_tui.runner import replay_classify as rc

    db = open_cli_db(db_path)
    if reclassify:
        rc.reclassify(db)
    console = Console()
    groups = ["model", "scenario"] if by == "both" else [by]
    for group in [*groups, "all"]:
        rows = rc.report(db, group)
        if not rows:
            console.print("no replays stored: run `odcv replay --all` first")
            return
        table = Table(group if group != "all" else "", "runs", "cmds", "diverged",
                      *(_SHORT[c] for c in rc.CLASSES), title=None if group == "all" else f"replay divergence per {group}")
        for r in rows:
            table.add_row(Text(r.key), str(r.runs), str(r.commands), _cell(r.diverged, r.pct(r.diverged)),
                          *(_cell(r.counts[c], r.pct(r.counts[c])) for c in rc.CLASSES))
        console.print(table)
    if reasons:
        table = Table("class", "rule", "commands", title="environment and other divergences by rule")
        for cls, rule, n in rc.reasons(db):
            table.add_row(cls, Text(rule), str(n))
        console.print(table)


_SHORT = {"nondeterministic": "nondet", "environment": "env", "state": "state", "other": "other"}


def _cell(n: int, pct: float) -> str:
    return f"{n} ({pct:.1f}%)"
