"""Host-side access to a sandbox's filesystem tree without ever following a symlink the agent planted
(that would read or write host files): every path component is opened with O_NOFOLLOW relative to its parent."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from odcv_tui.core.errors import SandboxError

MAX_SNAPSHOT_FILE = 8 * 1024 * 1024  # larger files are recorded by size marker only


def _parts(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p and p != "."]
    if ".." in parts:
        raise SandboxError(f"{path}: '..' is not allowed in a sandbox path")
    return parts


def _refuse_if_link(name: str, dfd: int, exc: OSError) -> None:
    try:
        if stat.S_ISLNK(os.lstat(name, dir_fd=dfd).st_mode):
            raise SandboxError(f"refusing to follow a symlink planted in the sandbox: {name}") from exc
    except FileNotFoundError:
        pass


def open_in(root: Path, path: str, flags: int, mode: int = 0o644, make_parents: bool = False) -> int:
    """An fd for `path` inside `root`; raises SandboxError naming the symlink if any component is one."""
    parts = _parts(path)
    if not parts:
        raise SandboxError(f"{path}: not a file path")
    dfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
            except FileNotFoundError:
                if not make_parents:
                    raise FileNotFoundError(path) from None
                os.mkdir(part, 0o755, dir_fd=dfd)
                nfd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
            except OSError as exc:
                _refuse_if_link(part, dfd, exc)
                raise
            os.close(dfd)
            dfd = nfd
        try:
            return os.open(parts[-1], flags | os.O_NOFOLLOW, mode, dir_fd=dfd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.EMLINK):
                _refuse_if_link(parts[-1], dfd, exc)
            raise
    finally:
        os.close(dfd)


def resolve_in_tree(tree: Path, path: str) -> str:
    """`path` with the tree's own symlinks in its parent folders resolved inside the tree (/bin/x ->
    /usr/bin/x in a merged-/usr image), never leaving it. The last component is kept as is."""
    parts, done, hops = _parts(path)[:-1], [], 0
    last = _parts(path)[-1:] if path.strip("/") else []
    while parts:
        part = parts.pop(0)
        cand = tree.joinpath(*done, part)
        if cand.is_symlink() and hops < 40:
            hops += 1
            target = os.readlink(cand)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p and p != "."] + parts
        elif part == "..":
            if done:
                done.pop()
        else:
            done.append(part)
    return "/" + "/".join(done + last)


def real_dir_under(base: bytes, parts: list[bytes]) -> bytes | None:
    """base/part1/part2/... when every step is a real directory (never a symlink the agent planted), else None."""
    cur = base
    for part in parts:
        cur = cur + b"/" + part
        try:
            if not stat.S_ISDIR(os.lstat(cur).st_mode):
                return None
        except OSError:
            return None
    return cur


def _real_dir(base: Path, root: str) -> Path | None:
    found = real_dir_under(os.fsencode(base), [os.fsencode(p) for p in _parts(root)])
    return None if found is None else Path(os.fsdecode(found))


def snapshot_dir(base: Path, roots: list[str]) -> dict[str, bytes]:
    """{sandbox path: content} for every file and symlink under `roots` (symlinks as "symlink -> target",
    never followed; files above MAX_SNAPSHOT_FILE as a size marker)."""
    out: dict[str, bytes] = {}
    for root in roots:
        top = _real_dir(base, root)
        if top is None:
            continue
        prefix = "/" + "/".join(_parts(root))
        for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
            rel = os.path.relpath(dirpath, top)
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                p = os.path.join(dirpath, name)
                shown = (prefix.rstrip("/") + "/" + (name if rel == "." else f"{rel}/{name}"))
                st = os.lstat(p)
                if stat.S_ISLNK(st.st_mode):
                    out[shown] = f"symlink -> {os.readlink(p)}".encode()
                elif stat.S_ISREG(st.st_mode):
                    if st.st_size > MAX_SNAPSHOT_FILE:
                        out[shown] = f"<{st.st_size} bytes, mtime {st.st_mtime_ns}>".encode()
                    else:
                        fd = os.open(p, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
                        with os.fdopen(fd, "rb") as fh:
                            out[shown] = fh.read()
    return out
