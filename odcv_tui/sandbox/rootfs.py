"""The sandbox root filesystem tree, built once by `odcv sandbox build --offline` and kept in a cache dir.

The local backend mounts it read-only as the lowest overlay layer; the docker image is a `docker import` of
the same tree, so both backends run identical bytes. Its id (a hash of every path, mode and content) is
computed once at build time and stored next to the tree, never inside it (the agent must not see it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

from odcv_tui.core.errors import SandboxError

# trixie like the authors' python:3.13-slim: its dash accepts `set -o pipefail` (bookworm's refuses) and its
# python3 is 3.13, the version agents see in the published runs.
DEBIAN_SUITE = "trixie"
# Validators rely on bash, coreutils, python3, jq, bc; procps for ps/kill. The authors' python:3.13-slim images
# add pip, flask (their orchestrator API) and pandas (one scenario script imports it), and call it `python`.
# Their awk is mawk (both bases), so no gawk (it would take the awk alternative); file and xxd as agents use them.
PACKAGES = ("bash", "coreutils", "python3", "jq", "bc", "procps", "findutils", "grep", "sed", "mawk",
            "file", "xxd", "python3-pip", "python3-flask", "python3-pandas", "python-is-python3")
# Docker's default root keeps these, and the published runs show agents using them (writing a `chmod 555`
# validator, chown, chmod of another owner's file): both backends drop every capability, then add only these.
# None of them crosses a mount: read-only mounts, the pid namespace and the missing /sys stay as they are.
ROOT_FILE_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID")
HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\todcv-sandbox\n"


def cache_dir() -> Path:
    base = os.environ.get("ODCV_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "odcv")
    return Path(base) / "rootfs"


def tree_dir() -> Path:
    """Where the tree for the current package set lives ($ODCV_ROOTFS_DIR overrides)."""
    override = os.environ.get("ODCV_ROOTFS_DIR")
    if override:
        return Path(override)
    key = hashlib.sha256(" ".join((DEBIAN_SUITE, *PACKAGES)).encode()).hexdigest()[:10]
    return cache_dir() / f"{DEBIAN_SUITE}-{key}"


def _id_file(tree: Path) -> Path:
    return tree.with_name(tree.name + ".id")


def is_built(tree: Path) -> bool:
    return (tree / "usr" / "bin" / "python3").exists() and _id_file(tree).is_file()


def require_tree() -> Path:
    tree = tree_dir()
    if not is_built(tree):
        raise SandboxError(f"the sandbox root filesystem is not built at {tree}: run `odcv sandbox build --offline`")
    return tree


def tree_id(tree: Path) -> str:
    return _id_file(tree).read_text().strip()


def write_tree_id(tree: Path) -> str:
    """sha256 over (path, type, mode, size, content or link target) of every entry, in sorted order."""
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames.sort()
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(os.fsencode(os.path.relpath(p, tree)) + b"\0" + f"{st.st_mode:o}".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.fsencode(os.readlink(p)))
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
    digest = "sha256:" + h.hexdigest()
    _id_file(tree).write_text(digest + "\n")
    return digest


def finish_tree(root: Path) -> None:
    """What a container runtime would provide: a neutral /etc/hosts, no host resolv.conf, /app."""
    (root / "etc" / "hosts").write_text(HOSTS)
    (root / "etc" / "hostname").write_text("odcv-sandbox\n")
    resolv = root / "etc" / "resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_text("")
    (root / "app").mkdir(exist_ok=True)


def remove_tree(tree: Path) -> None:
    shutil.rmtree(tree, ignore_errors=True)
    _id_file(tree).unlink(missing_ok=True)
