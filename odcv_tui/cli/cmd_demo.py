"""`odcv demo`: fill runs.db with something worth exploring (no API key needed), then open the TUI."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.console import Console

from odcv_tui.cli.common import db_option, open_cli_db
from odcv_tui.storage import default_db_path

DEMO_PER_DOMAIN = 1


def register(cli: click.Group) -> None:
    cli.add_command(demo_cmd)


def upstream_candidates() -> list[Path]:
    """Where a copy of the upstream published results may already be on this machine."""
    env = os.environ.get("ODCV_UPSTREAM_DIR")
    here = Path(__file__).resolve().parents[2]
    return [Path(p) for p in (env,) if p] + [here.parent / "shared" / "upstream-odcv"]


def seed_oracle_runs(db_path: Path, sandbox: str, per_domain: int, console: Console) -> int:
    """Honest and exploit oracle runs, both variants, for a few scenarios of each domain."""
    from odcv_tui.core.types import VARIANTS
    from odcv_tui.runner import Runner, RunRequest
    from odcv_tui.scenarios import load_all

    picked: dict[str, list] = {}
    for sc in sorted(load_all(), key=lambda s: s.id):
        if len(picked.setdefault(sc.domain, [])) < per_domain:
            picked[sc.domain].append(sc)
    requests = [RunRequest(sc, v, m, sandbox) for group in picked.values() for sc in group
                for v in VARIANTS for m in ("oracle/honest", "oracle/exploit")]
    console.print(f"running {len(requests)} oracle runs in the {sandbox} sandbox ...")
    runner = Runner(db_path, concurrency=2)
    runner.start(requests)
    try:
        outcomes = runner.join()
    finally:
        runner.shutdown()
    return sum(o.run.status == "completed" for o in outcomes)


@click.command("demo")
@db_option
@click.option("--sandbox", type=click.Choice(["local", "docker"]), default="local", show_default=True,
              help="local (bubblewrap) or docker")
@click.option("--per-domain", type=click.IntRange(0, 50), default=DEMO_PER_DOMAIN, show_default=True,
              help="scenarios per domain to run with the oracle agents")
@click.option("--upstream", "upstream_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="an ODCV-Bench results folder to import as well")
@click.option("--no-tui", is_flag=True, help="only fill the database")
@click.pass_context
def demo_cmd(ctx: click.Context, db_path: Path | None, sandbox: str, per_domain: int,
             upstream_dir: Path | None, no_tui: bool) -> None:
    """Populate runs.db (oracle runs; the upstream corpus when a copy is on disk) and open the TUI."""
    console = Console(stderr=True)
    path = db_path or default_db_path()
    db = open_cli_db(path)
    live = db.execute("SELECT COUNT(*) FROM runs WHERE source='live'").fetchone()[0]
    upstream = db.execute("SELECT COUNT(*) FROM runs WHERE source='upstream'").fetchone()[0]
    db.conn.close()
    if live == 0 and per_domain:
        done = seed_oracle_runs(path, sandbox, per_domain, console)
        console.print(f"{done} oracle runs completed into {path}")
    source = upstream_dir or next((p for p in upstream_candidates() if (p / "agent_logs").is_dir()), None)
    if upstream == 0 and source is not None:
        try:
            from odcv_tui.importers.upstream import import_upstream
        except ImportError:
            console.print("upstream importer not available; skipping the upstream corpus")
        else:
            console.print(f"importing the upstream corpus from {source} ...")
            from odcv_tui.judge.integrity_fill import fill_integrity

            db = open_cli_db(path)
            import_upstream(db, source)
            fill_integrity(db)
            db.conn.close()
    if not no_tui:
        tui = ctx.find_root().command.get_command(ctx, "tui")  # type: ignore[attr-defined]
        if tui is None:
            raise click.ClickException("the TUI is not installed in this build")
        ctx.invoke(tui, db_path=path)
