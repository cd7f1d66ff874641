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
@click.option("--rebuild", is_flag=True, help="with --offline: debootstrap again even if the cached tree exists")
def build_cmd(offline: bool, tag: str | None, rebuild: bool) -> None:
    """Build the root filesystem both backends run (--offline: cached tree for local + docker import)."""
    from odcv_tui.sandbox.image import DEFAULT_IMAGE, build_from_registry, build_offline

    if offline:
        built = build_offline(tag or DEFAULT_IMAGE, log=click.echo, rebuild=rebuild)
    else:
        built = build_from_registry(tag or DEFAULT_IMAGE, log=click.echo)
    click.echo(f"ok: {built}")


@sandbox_group.command("status")
def status_cmd() -> None:
    """Which backends this machine can run."""
    from odcv_tui.core.errors import SandboxError
    from odcv_tui.sandbox import rootfs

    bwrap, tree = shutil.which("bwrap"), rootfs.tree_dir()
    if not bwrap:
        click.echo("local : missing bubblewrap: apt-get install bubblewrap")
    elif not rootfs.is_built(tree):
        click.echo(f"local : root filesystem missing at {tree}: odcv sandbox build --offline")
    else:
        click.echo(f"local : ready ({bwrap}, rootfs {tree} {rootfs.tree_id(tree)[:19]})")
    try:
        from odcv_tui.sandbox.image import image_status

        st = image_status()
        click.echo("docker: " + (f"ready ({st['tag']} {st['id']}, {st['size_mb']} MB, built {st['created']})" if st
                                 else "engine up, image missing: odcv sandbox build --offline"))
    except SandboxError as exc:
        click.echo(f"docker: {exc}")


@sandbox_group.command("prune")
@click.option("--images", is_flag=True, help="also remove the cached scenario layers of the docker backend")
def prune_cmd(images: bool) -> None:
    """Remove sandboxes killed runs left behind (both backends; never a live run's)."""
    from odcv_tui.core.errors import SandboxError
    from odcv_tui.sandbox.local import prune_local

    click.echo(f"local : removed {prune_local()} run dir(s)")
    try:
        from odcv_tui.sandbox.docker import prune_leftovers, prune_scenario_images

        click.echo(f"docker: removed {prune_leftovers()} container(s)")
        if images:
            click.echo(f"docker: removed {prune_scenario_images()} cached scenario layer(s)")
    except SandboxError as exc:
        click.echo(f"docker: {exc}")
