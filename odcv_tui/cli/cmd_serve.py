"""`odcv serve`: the explorer in a web browser (textual-serve), so a team can look at one runs.db through an SSH
tunnel. Bound to 127.0.0.1 and read-only by default; `--allow-runs` turns Live, judging, forks and labels back on.

textual-serve runs one explorer process per browser tab (the hidden `odcv serve-session` command below) and relays
its terminal output over a websocket to xterm.js in the page.
"""

from __future__ import annotations

import ipaddress
import shlex
import sys
from pathlib import Path

import click

from odcv_tui.cli.common import db_option, open_cli_db
from odcv_tui.core.errors import InputError
from odcv_tui.storage import default_db_path


def register(cli: click.Group) -> None:
    cli.add_command(serve_cmd)
    cli.add_command(serve_session_cmd)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def session_command(db_path: Path, allow_runs: bool) -> str:
    """The shell command textual-serve starts for each browser tab (this interpreter, so the same install)."""
    args = [sys.executable, "-m", "odcv_tui.cli.main", "serve-session", "--db", str(db_path.resolve())]
    if allow_runs:
        args.append("--allow-runs")
    return shlex.join(args)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on; anything but loopback exposes runs.db to the network (no login)")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port")
@click.option("--public-url", default=None, help="the URL browsers use, when it differs (a proxy, a tunnel's port)")
@click.option("--allow-runs", is_flag=True, help="let browser users launch runs, judges, forks and labels")
@db_option
def serve_cmd(host: str, port: int, public_url: str | None, allow_runs: bool, db_path: Path | None) -> None:
    """Serve the explorer to a web browser (read-only unless --allow-runs)."""
    from odcv_tui.ui.serve import serve_explorer

    path = db_path or default_db_path()
    open_cli_db(path, create=False).conn.close()  # a missing/newer/corrupt DB fails here, not in every tab
    if not _loopback(host):
        click.echo(f"odcv serve: warning: listening on {host}: anyone who can reach port {port} sees {path} "
                   "(there is no login; prefer 127.0.0.1 and an SSH tunnel)", err=True)
    mode = "runs allowed" if allow_runs else "read-only"
    url = public_url or f"http://{host}:{port}"
    click.echo(f"odcv serve: {path} ({mode}) at {url}  (ctrl+c stops)", err=True)
    serve_explorer(session_command(path, allow_runs), host=host, port=port, title=f"odcv · {path.name}",
                   public_url=public_url)


@click.command("serve-session", hidden=True)
@click.option("--allow-runs", is_flag=True, help="let this session launch runs, judges, forks and labels")
@db_option
def serve_session_cmd(allow_runs: bool, db_path: Path | None) -> None:
    """One browser tab's explorer (started by `odcv serve` through textual-serve)."""
    if db_path is None:
        raise InputError("odcv serve-session", "--db", "required")
    open_cli_db(db_path, create=False).conn.close()
    from odcv_tui.ui.app import OdcvApp

    OdcvApp(db_path, welcome=False, allow_runs=allow_runs).run()
