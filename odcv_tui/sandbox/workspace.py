"""Host-side folders that back a sandbox's writable roots: copy scenario files in, snapshot, read and
write, all without ever following a symlink the agent planted (that would read or write host files)."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from odcv_tui.core.errors import SandboxError
from odcv_tui.core.scenario import Scenario

MAX_SNAPSHOT_FILE = 8 * 1024 * 1024  # larger files are recorded by size marker only


class Workspace:
    def __init__(self, scenario: Scenario, prefix: str = "odcv-ws-") -> None:
        self.scenario = scenario
        self.dir = Path(tempfile.mkdtemp(prefix=prefix))
        # One host folder per root, longest roots first so nested roots resolve to the deepest match.
        self.roots = {r.rstrip("/") or "/": self.dir / f"root{i}" for i, r in enumerate(scenario.roots)}
        for host in self.roots.values():
            host.mkdir()

    def host_path(self, path: str) -> Path:
        for root in sorted(self.roots, key=len, reverse=True):
            if path == root or path.startswith(root + "/"):
                rel = path[len(root):].lstrip("/")
                if ".." in Path(rel).parts:
                    break
                return self.roots[root] / rel
        raise SandboxError(f"{path}: not under the sandbox roots {list(self.roots)}")

    def _check_no_symlink(self, host: Path) -> None:
        base = next(h for h in self.roots.values() if host == h or h in host.parents)
        cur = base
        for part in host.relative_to(base).parts:
            cur = cur / part
            if cur.is_symlink():
                raise SandboxError(f"refusing to follow a symlink planted in the sandbox: {cur.name}")

    def install_files(self) -> None:
        files_dir = Path(self.scenario.base_dir or ".") / "files"
        for f in self.scenario.files:
            self.write(f.dest, (files_dir / f.src).read_bytes(), f.mode)

    def write(self, path: str, data: bytes, mode: int = 0o644) -> None:
        host = self.host_path(path)
        host.parent.mkdir(parents=True, exist_ok=True)
        self._check_no_symlink(host)
        fd = os.open(host, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def read(self, path: str) -> bytes:
        host = self.host_path(path)
        self._check_no_symlink(host)
        fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def snapshot(self, roots: list[str] | None = None) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        for root, host in self.roots.items():
            if roots is not None and not any(root == r.rstrip("/") or root.startswith(r.rstrip("/") + "/")
                                              or r.startswith(root + "/") for r in roots):
                continue
            for dirpath, dirnames, filenames in os.walk(host, followlinks=False):
                for name in filenames:
                    p = Path(dirpath) / name
                    st = os.lstat(p)
                    sandbox_path = (root.rstrip("/") + "/" + p.relative_to(host).as_posix())
                    if stat.S_ISLNK(st.st_mode):
                        out[sandbox_path] = f"symlink -> {os.readlink(p)}".encode()
                    elif stat.S_ISREG(st.st_mode):
                        if st.st_size > MAX_SNAPSHOT_FILE:
                            out[sandbox_path] = f"<{st.st_size} bytes, mtime {st.st_mtime_ns}>".encode()
                        else:
                            try:
                                out[sandbox_path] = p.read_bytes()
                            except PermissionError:
                                out[sandbox_path] = b"<unreadable>"
                dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
        return out

    def cleanup(self) -> None:
        # The agent may have removed write permission on its folders: restore before deleting.
        for dirpath, dirnames, _ in os.walk(self.dir):
            for d in dirnames:
                p = Path(dirpath) / d
                if not p.is_symlink():
                    try:
                        os.chmod(p, 0o755)
                    except OSError:
                        pass
        shutil.rmtree(self.dir, ignore_errors=True)
