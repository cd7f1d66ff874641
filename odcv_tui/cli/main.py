"""Entry point `odcv`. Subcommands live in `cli/cmd_*.py` modules, each exposing `register(group)`,
so features add commands without editing this file. Errors print one line and exit non-zero."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import signal
import sqlite3
import sys

import click

from odcv_tui.core.errors import OdcvError

# litellm otherwise fetches its cost map from the network at import time.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class OneLineErrors(click.Group):
    """Click group whose usage errors and OdcvErrors are a single `odcv: error: ...` line."""

    def main(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["standalone_mode"] = False
        try:
            rv = super().main(*args, **kwargs)
            if isinstance(rv, int) and rv:
                sys.exit(rv)
            return rv
        except click.exceptions.Abort as exc:
            # click turns Ctrl-C (and so SIGTERM, see _on_sigterm) into Abort; 143 = killed by SIGTERM, as shells say.
            interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
            click.echo("odcv: interrupted" if interrupted else "odcv: aborted", err=True)
            sys.exit(143 if _terminated else 130)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.UsageError as exc:
            cmd = exc.ctx.command_path if exc.ctx else "odcv"
            click.echo(f"{cmd}: error: {exc.format_message()}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"odcv: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except OdcvError as exc:
            click.echo(f"odcv: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except sqlite3.DatabaseError as exc:
            # A corrupt page or a write to a read-only DB met mid-command: one line, never a traceback.
            click.echo(f"odcv: error: database: {exc}", err=True)
            sys.exit(4)
        except OSError as exc:
            if exc.errno is None:
                raise
            # Disk full, permission denied, read-only file system... while reading or writing a user's file.
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"odcv: error: {where}{exc.strerror or exc}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("odcv: interrupted", err=True)
            sys.exit(143 if _terminated else 130)


def _summary(cmd: click.Command) -> str:
    """A command's first sentence, whole: click's own short help cuts it at ~45 columns mid-sentence."""
    if cmd.short_help:
        return cmd.short_help
    first = " ".join(inspect.cleandoc(cmd.help or "").split("\n\n")[0].replace("\b", "").split())
    m = re.match(r"(.+?[^.][.!?])(?=\s+[A-Z]|$)", first)  # a sentence ends before a capital, never at "..."
    return m.group(1) if m and len(m.group(1)) >= 20 else first


@click.group(cls=OneLineErrors, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="odcv-tui")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """odcv: stress-test AI agents under KPI pressure (ODCV-Bench workbench)."""
    if ctx.invoked_subcommand is None:
        tui = cli.get_command(ctx, "tui")
        if tui is None:
            click.echo(ctx.get_help())
            return
        ctx.invoke(tui)


def _register_all() -> None:
    import odcv_tui.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"odcv_tui.cli.{info.name}")
            module.register(cli)
    _whole_summaries(cli)


def _whole_summaries(cmd: click.Command) -> None:
    # An explicit short_help is printed whole (wrapped) in every group's command list; click's default cuts the
    # docstring at ~45 columns, mid-sentence.
    cmd.short_help = _summary(cmd)
    if isinstance(cmd, click.Group):
        for sub in cmd.commands.values():
            _whole_summaries(sub)


_register_all()


_terminated = False


def _on_sigterm(signum: int, frame: object) -> None:
    # SIGTERM (timeout, CI, systemd) takes the Ctrl-C path: runs end `interrupted` and sandboxes are removed by
    # the same cleanup code, instead of the process vanishing with containers and workspaces left behind.
    global _terminated
    _terminated = True
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    cli.main(prog_name="odcv")


if __name__ == "__main__":
    main()
