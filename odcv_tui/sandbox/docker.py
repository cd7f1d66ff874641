"""The docker backend: one container per run, no network, every capability dropped, no-new-privileges,
memory/cpu/pids limits; scenario files copied in at their mapped paths; the container is always removed
(close(), Ctrl-C, exceptions, and an atexit sweep for anything still alive)."""

from __future__ import annotations

import atexit
import io
import os
import shlex
import tarfile
import threading
import time
from types import TracebackType
from typing import Any

import docker
import docker.errors

from odcv_tui.core.errors import SandboxError
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import ExecResult
from odcv_tui.sandbox.image import DEFAULT_IMAGE, client
from odcv_tui.sandbox.workspace import MAX_SNAPSHOT_FILE

LABEL = "odcv-tui.sandbox"
_live: dict[str, Any] = {}  # container id -> container, swept at exit
_live_lock = threading.Lock()


def _sweep() -> None:
    with _live_lock:
        for c in list(_live.values()):
            try:
                c.remove(force=True)
            except docker.errors.DockerException:
                pass
        _live.clear()


atexit.register(_sweep)


def prune_leftovers() -> int:
    """Remove containers a killed process left behind (they carry our label)."""
    n = 0
    for c in client().containers.list(all=True, filters={"label": LABEL}):
        c.remove(force=True)
        n += 1
    return n


def _tar_of(files: list[tuple[str, bytes, int]]) -> bytes:
    """A tar rooted at / holding each (absolute path, data, mode) and its parent folders."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        dirs: set[str] = set()
        for path, _, _ in files:
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for d in sorted(dirs):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
            tar.addfile(info)
        for path, data, mode in files:
            info = tarfile.TarInfo(path.strip("/"))
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class DockerSandbox:
    name = "docker"

    def __init__(self, scenario: Scenario, image: str = DEFAULT_IMAGE, memory: str = "1g",
                 cpus: float = 1.0, pids: int = 256, network: bool = False) -> None:
        self.scenario = scenario
        self.image, self.memory, self.cpus, self.pids, self.network = image, memory, cpus, pids, network
        self.container: Any = None
        # path -> (size, mtime, content): files are fetched again only when their size or mtime moved.
        self._cache: dict[str, tuple[str, str, bytes]] = {}

    def __enter__(self) -> DockerSandbox:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        c = client()
        try:
            c.images.get(self.image)
        except docker.errors.ImageNotFound:
            raise SandboxError(f"sandbox image {self.image} is not built: run `odcv sandbox build --offline`") from None
        try:
            self.container = c.containers.run(
                self.image, ["sleep", "infinity"], detach=True, labels={LABEL: str(os.getpid())},
                network_mode="bridge" if self.network else "none", cap_drop=["ALL"],
                security_opt=["no-new-privileges"], mem_limit=self.memory, memswap_limit=self.memory,
                nano_cpus=int(self.cpus * 1e9), pids_limit=self.pids, working_dir="/",
                hostname="odcv-sandbox", init=True, environment={"HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"})
        except docker.errors.DockerException as exc:
            raise SandboxError(f"could not start a container: {str(exc).splitlines()[0][:200]}") from exc
        with _live_lock:
            _live[self.container.id] = self.container
        try:
            files_dir = os.path.join(self.scenario.base_dir or ".", "files")
            payload = [(f.dest, open(os.path.join(files_dir, f.src), "rb").read(), f.mode) for f in self.scenario.files]
            dirs = " ".join(shlex.quote(d) for d in [*self.scenario.roots, self.scenario.workdir])
            self._run(f"mkdir -p {dirs}", 30, workdir="/")
            if payload and not self.container.put_archive("/", _tar_of(payload)):
                raise SandboxError("could not copy the scenario files into the container")
        except BaseException:
            self.close()
            raise

    def _run(self, command: str, timeout: float, workdir: str | None = None) -> tuple[int, bytes, bytes, bool]:
        """Run under coreutils `timeout` (kills the whole process group); a host-side watchdog kills every
        process in the container if even that hangs (e.g. a command holding the output stream open)."""
        argv = ["timeout", "-k", "2", f"{timeout:g}", "bash", "-c", command]
        api = self.container.client.api
        exec_id = api.exec_create(self.container.id, argv, workdir=workdir or self.scenario.workdir or "/", stdout=True, stderr=True)["Id"]
        result: dict[str, Any] = {}

        def target() -> None:
            try:
                result["out"] = api.exec_start(exec_id, demux=True)
            except docker.errors.DockerException as exc:
                result["err"] = exc

        t = threading.Thread(target=target, daemon=True)
        t.start()
        t.join(timeout + 10)
        if t.is_alive():
            self.container.exec_run(["kill", "-9", "-1"])
            t.join(10)
        if "err" in result:
            raise SandboxError(f"docker exec failed: {result['err']}")
        out, err = result.get("out") or (b"", b"")
        code = api.exec_inspect(exec_id).get("ExitCode")
        code = 137 if code is None else int(code)
        return code, out or b"", err or b"", code in (124, 137)

    def exec(self, command: str, timeout: float) -> ExecResult:
        assert self.container is not None, "sandbox not started"
        t0 = time.monotonic()
        code, out, err, timed_out = self._run(command, timeout)
        stderr = err.decode("utf-8", "replace")
        if timed_out:
            stderr += f"\n[odcv: command timed out after {timeout:g} s]"
            code = 124
        return ExecResult(stdout=out.decode("utf-8", "replace"), stderr=stderr, exit_code=code,
                          duration=time.monotonic() - t0, timed_out=timed_out)

    def read_file(self, path: str) -> bytes:
        assert self.container is not None
        try:
            stream, _ = self.container.get_archive(path)
        except docker.errors.NotFound:
            raise FileNotFoundError(path) from None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                raise SandboxError(f"{path}: not a regular file")
            fh = tar.extractfile(member)
            return fh.read() if fh else b""

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        assert self.container is not None
        if not self.container.put_archive("/", _tar_of([(path, data, mode)])):
            raise SandboxError(f"could not write {path} into the container")

    def snapshot(self, roots: list[str]) -> dict[str, bytes]:
        assert self.container is not None
        listing = "find " + " ".join(shlex.quote(r) for r in roots) + \
            " \\( -type f -o -type l \\) -printf '%y\\t%s\\t%T@\\t%p\\t%l\\n' 2>/dev/null"
        _, out, _, _ = self._run(listing, 60, workdir="/")
        snap: dict[str, bytes] = {}
        for line in out.decode("utf-8", "replace").splitlines():
            kind, size, mtime, path, target = (line.split("\t") + [""] * 5)[:5]
            if kind == "l":
                snap[path] = f"symlink -> {target}".encode()
            elif int(size or 0) > MAX_SNAPSHOT_FILE:
                snap[path] = f"<{size} bytes, mtime {mtime}>".encode()
            else:
                cached = self._cache.get(path)
                if cached is None or cached[:2] != (size, mtime):
                    try:
                        cached = (size, mtime, self.read_file(path))
                    except (FileNotFoundError, SandboxError):
                        continue  # vanished or unreadable between find and fetch
                    self._cache[path] = cached
                snap[path] = cached[2]
        return snap

    def close(self) -> None:
        if self.container is None:
            return
        cid = self.container.id
        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except docker.errors.DockerException as exc:
            raise SandboxError(f"could not remove container {cid[:12]}: {exc}") from exc
        finally:
            with _live_lock:
                _live.pop(cid, None)
            self.container = None
