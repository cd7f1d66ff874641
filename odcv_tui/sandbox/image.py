"""The image the docker backend runs: `odcv sandbox build [--offline]`.

With a registry, a two-line Dockerfile on a slim Debian Python image. Offline (machines that reach only a
Debian package mirror, like CI here): debootstrap a minimal Debian with the tools the authors' images give
every scenario, keep the tree in the rootfs cache (the local backend's lower layer, see rootfs.py) and
`docker import` the very same tree, so both backends run identical bytes.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import docker
import docker.errors

from odcv_tui.core.errors import SandboxError
from odcv_tui.sandbox import rootfs

DEFAULT_IMAGE = os.environ.get("ODCV_SANDBOX_IMAGE", "odcv-sandbox:latest")
DEBIAN_MIRROR = os.environ.get("ODCV_DEBIAN_MIRROR", "http://deb.debian.org/debian")
DEBIAN_SUITE, PACKAGES = rootfs.DEBIAN_SUITE, rootfs.PACKAGES
DOCKERFILE = """FROM python:3.13-slim
RUN apt-get update && apt-get install -y --no-install-recommends jq bc procps file xxd && rm -rf /var/lib/apt/lists/*
WORKDIR /app
CMD ["sleep", "infinity"]
"""


def client() -> docker.DockerClient:
    try:
        c = docker.from_env(timeout=120)
        c.ping()
        return c
    except docker.errors.DockerException as exc:
        raise SandboxError(f"no Docker engine reachable ({str(exc).splitlines()[0][:120]}); start dockerd "
                           "or use --sandbox local") from exc


def image_status(tag: str = DEFAULT_IMAGE) -> dict[str, str] | None:
    """Id, creation time and size of the sandbox image, or None when it is not built."""
    try:
        img = client().images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    return {"tag": tag, "id": img.short_id, "created": str(img.attrs.get("Created", ""))[:19],
            "size_mb": f"{img.attrs.get('Size', 0) / 1e6:.0f}"}


def build_from_registry(tag: str = DEFAULT_IMAGE, log: Callable[[str], None] = print) -> str:
    c = client()
    ctx = io.BytesIO()
    with tarfile.open(fileobj=ctx, mode="w") as tar:
        data = DOCKERFILE.encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    ctx.seek(0)
    try:
        for chunk in c.api.build(fileobj=ctx, custom_context=True, tag=tag, rm=True, decode=True):
            if "stream" in chunk and chunk["stream"].strip():
                log(chunk["stream"].rstrip())
            if "error" in chunk:
                raise SandboxError(f"docker build failed: {chunk['error'].strip()}")
    except docker.errors.APIError as exc:
        raise SandboxError(f"docker build failed: {exc.explanation or exc}") from exc
    return tag


def build_offline(tag: str = DEFAULT_IMAGE, log: Callable[[str], None] = print,
                  mirror: str = DEBIAN_MIRROR, rebuild: bool = False) -> str:
    """Make (or reuse) the cached rootfs tree, then `docker import` it when an engine is reachable."""
    t0 = time.monotonic()
    tree = rootfs.tree_dir()
    if rebuild or not rootfs.is_built(tree):
        _debootstrap(tree, mirror, log)
    else:
        log(f"rootfs cached at {tree} (id {rootfs.tree_id(tree)[:12]})")
    try:
        c = client()
    except SandboxError as exc:
        log(f"rootfs ready for --sandbox local; docker image not built: {exc}")
        return str(tree)
    log(f"importing {tree} into docker as {tag}")
    with tempfile.TemporaryDirectory(prefix="odcv-import-") as tmp:
        archive = Path(tmp) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(tree, arcname=".")
        repo, _, version = tag.partition(":")
        try:
            c.api.import_image(src=str(archive), repository=repo, tag=version or "latest",
                               changes=['CMD ["sleep", "infinity"]', "WORKDIR /app",
                                        f"LABEL odcv.rootfs={rootfs.tree_id(tree)}",
                                        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
        except docker.errors.APIError as exc:
            raise SandboxError(f"docker import failed: {exc.explanation or exc}") from exc
    log(f"built {tag} in {time.monotonic() - t0:.0f} s")
    return tag


def _debootstrap(tree: Path, mirror: str, log: Callable[[str], None]) -> None:
    if shutil.which("debootstrap") is None:
        raise SandboxError("debootstrap not found: apt-get install debootstrap (needed for --offline)")
    if os.geteuid() != 0:
        raise SandboxError("--offline needs root (debootstrap creates device nodes and chroots)")
    tree.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the final place, then rename: a half-built tree is never mistaken for a ready one.
    tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=tree.parent))
    try:
        root = tmp / "rootfs"
        t0 = time.monotonic()
        log(f"debootstrap {DEBIAN_SUITE} from {mirror} (minbase + {', '.join(PACKAGES)})")
        proc = subprocess.run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                               DEBIAN_SUITE, str(root), mirror], capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SandboxError(f"debootstrap failed: {tail[0][:200]}")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
            shutil.rmtree(root / junk, ignore_errors=True)
        rootfs.finish_tree(root)
        log(f"rootfs ready in {time.monotonic() - t0:.0f} s")
        if tree.exists():
            rootfs.remove_tree(tree)
        root.rename(tree)
        rootfs.write_tree_id(tree)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
