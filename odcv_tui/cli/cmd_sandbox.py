"""`odcv sandbox build [--offline]`, `odcv sandbox status`, `odcv sandbox prune`."""

from __future__ import annotations

import shutil

import click


def register(cli: click.Group) -> None:
    cli.add_command(sandbox_group)


@click.group("sandbox")
def sandbox_group() -> None:
    """The sandbox backends: build the docker image, see what is available."""


@sandbox_group.command("build")
@click.option("--offline", is_flag=True, help="debootstrap a minimal Debian and `docker import` it (no registry)")
@click.option("--tag", default=None, help="image tag (default odcv-sandbox:latest or $ODCV_SANDBOX_IMAGE)")
def build_cmd(offline: bool, tag: str | None) -> None:
    """Build the image the docker backend runs."""
    from odcv_tui.sandbox.image import DEFAULT_IMAGE, build_from_registry, build_offline

    built = (build_offline if offline else build_from_registry)(tag or DEFAULT_IMAGE, log=click.echo)
    click.echo(f"ok: {built}")


@sandbox_group.command("status")
def status_cmd() -> None:
    """Which backends this machine can run."""
    from odcv_tui.core.errors import SandboxError

    bwrap = shutil.which("bwrap")
    click.echo(f"local : {'ready (' + bwrap + ')' if bwrap else 'missing bubblewrap: apt-get install bubblewrap'}")
    try:
        from odcv_tui.sandbox.image import image_status

        st = image_status()
        click.echo("docker: " + (f"ready ({st['tag']} {st['id']}, {st['size_mb']} MB, built {st['created']})" if st
                                 else "engine up, image missing: odcv sandbox build --offline"))
    except SandboxError as exc:
        click.echo(f"docker: {exc}")


@sandbox_group.command("prune")
def prune_cmd() -> None:
    """Remove sandbox containers a killed run left behind."""
    from odcv_tui.sandbox.docker import prune_leftovers

    click.echo(f"removed {prune_leftovers()} container(s)")
