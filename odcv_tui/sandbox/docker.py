"""The docker backend: one container per run, no network, every capability dropped but
the file-permission ones of Docker's default root (rootfs.ROOT_FILE_CAPS), no-new-privileges,
memory/cpu/pids limits. Its main process is the exec server (exec_server.py), attached over `docker start -ai`
pipes, so commands cost a round trip, not a `docker exec`. File changes come from the container's overlay2
upper dir when the engine's storage is readable from here (local engine, root), else from tars of the
scenario roots. The container is always removed (close(), Ctrl-C, exceptions, an atexit sweep) and
`prune` removes those a killed process left behind, never a live run's (owner pid/host/start in a label)."""

from __future__ import annotations

import atexit
import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import docker
import docker.errors
import docker.types

from odcv_tui.core.errors import SandboxError
from odcv_tui.core.protocols import FileMeta, FileState
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import ExecResult, FileChange
from odcv_tui.sandbox.exec_channel import BOOTSTRAP, ExecChannel
from odcv_tui.sandbox.filediff import diff_snapshots, sha
from odcv_tui.sandbox.image import DEFAULT_IMAGE, client
from odcv_tui.sandbox.local import owner_stamp
from odcv_tui.sandbox.overlay_state import OverlayTracker
from odcv_tui.sandbox.rootfs import ROOT_FILE_CAPS
from odcv_tui.sandbox.tree_io import MAX_SNAPSHOT_FILE

LABEL = "odcv-tui.sandbox"
SCENARIO_REPO = "odcv-sandbox-scenario"  # cached image + scenario-files layers (odcv sandbox prune removes them)
DISK_LIMIT = 2 << 30
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


def owner_alive(stamp: str) -> bool:
    """True when the label names a process of this host that is still the one that made the container."""
    parts = stamp.split()
    if len(parts) != 3 or not parts[0].isdigit():
        return False  # labels from older versions hold only a pid: treat as stale
    pid, host, _ = parts
    if host != owner_stamp(os.getpid()).split()[1]:
        return True  # another host's run: never ours to judge
    return owner_stamp(int(pid)) == stamp


def prune_leftovers() -> int:
    """Remove containers a killed process left behind (our label, owner no longer alive)."""
    n = 0
    for c in client().containers.list(all=True, filters={"label": LABEL}):
        if not owner_alive(c.labels.get(LABEL, "")):
            c.remove(force=True)
            n += 1
    return n


def prune_scenario_images() -> int:
    """Remove the cached scenario layers no container uses (they are rebuilt on demand)."""
    n = 0
    for img in client().images.list(name=SCENARIO_REPO):
        try:
            client().images.remove(img.id, force=False)
            n += 1
        except docker.errors.APIError:
            pass  # in use by a live run
    return n


def _tar_of(files: list[tuple[str, bytes, int]], dirs: list[str] = ()) -> bytes:  # type: ignore[assignment]
    """A tar rooted at / holding each (absolute path, data, mode), their parent folders and `dirs`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        all_dirs: set[str] = set()
        for path in [p for p, _, _ in files] + [d + "/x" for d in dirs]:
            parts = path.strip("/").split("/")[:-1]
            for i in range(1, len(parts) + 1):
                all_dirs.add("/".join(parts[:i]))
        for d in sorted(all_dirs):
            info = tarfile.TarInfo(d)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
            tar.addfile(info)
        for path, data, mode in files:
            info = tarfile.TarInfo(path.strip("/"))
            info.size, info.mode, info.mtime = len(data), mode, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class _ChunkReader(io.RawIOBase):
    """A file-like view of docker-py's chunk iterator, so tarfile can stream it ("r|") in bounded memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.buf = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self.buf:
            try:
                self.buf = next(self.chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self.buf))
        b[:n], self.buf = self.buf[:n], self.buf[n:]
        return n


class DockerSandbox:
    name = "docker"

    def __init__(self, scenario: Scenario, image: str = DEFAULT_IMAGE, memory: str = "1g",
                 cpus: float = 1.0, pids: int = 256, network: bool = False, disk: int = DISK_LIMIT) -> None:
        self.scenario = scenario
        self.image, self.memory, self.cpus, self.pids, self.network = image, memory, cpus, pids, network
        self.disk = disk
        self.container: Any = None
        self.channel: ExecChannel | None = None
        self.tracker: OverlayTracker | None = None
        self.image_id = ""
        self.disk_quota = ""  # "storage-opt" when the engine enforces it, else "watched" (see _watch_disk)
        self._tmp: Path | None = None
        self._upper: Path | None = None
        self._next_disk_check = 0.0
        self._disk_used = self._disk_at_start = 0
        self._last_snapshot: dict[str, bytes] = {}

    def __enter__(self) -> DockerSandbox:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        if shutil.which("docker") is None:
            raise SandboxError("the docker CLI is not installed (apt-get install docker.io)")
        c = client()
        try:
            self.image_id = c.images.get(self.image).id
        except docker.errors.ImageNotFound:
            raise SandboxError(f"sandbox image {self.image} is not built: run `odcv sandbox build --offline`") from None
        opts: dict[str, Any] = dict(
            command=["/usr/bin/python3", "-I", "-c", BOOTSTRAP], stdin_open=True,
            labels={LABEL: owner_stamp(os.getpid())}, network_mode="bridge" if self.network else "none",
            cap_drop=["ALL"], cap_add=list(ROOT_FILE_CAPS), security_opt=["no-new-privileges"], mem_limit=self.memory,
            memswap_limit=self.memory, nano_cpus=int(self.cpus * 1e9), pids_limit=self.pids, working_dir="/",
            hostname="odcv-sandbox", init=True, shm_size="64m",
            # A hard per-file cap at the disk quota: the watched quota below is soft (it can overshoot by what a
            # command writes between two looks, ~1 GB on a loaded box), RLIMIT_FSIZE stops one big file at once.
            ulimits=[docker.types.Ulimit(name="fsize", soft=self.disk, hard=self.disk)],
            environment={"HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb"})
        try:
            image = self._scenario_image(c)
            try:
                self.container = c.containers.create(image, storage_opt={"size": str(self.disk)}, **opts)
                self.disk_quota = "storage-opt"
            except docker.errors.APIError as exc:
                if "storage" not in str(exc).lower():
                    raise
                # overlay2 takes size= only on xfs with pquota: watch the upper dir's size instead.
                self.container = c.containers.create(image, **opts)
                self.disk_quota = "watched"
        except docker.errors.DockerException as exc:
            raise SandboxError(f"could not create a container: {str(exc).splitlines()[0][:200]}") from exc
        with _live_lock:
            _live[self.container.id] = self.container
        try:
            self._tmp = Path(tempfile.mkdtemp(prefix="odcv-docker-"))
            self.container.reload()
            data = self.container.attrs.get("GraphDriver", {}).get("Data") or {}
            upper, lowers = data.get("UpperDir"), [p for p in (data.get("LowerDir") or "").split(":") if p]
            if upper and lowers and os.access(upper, os.R_OK):
                self._upper = Path(upper)
                self.tracker = OverlayTracker(self._upper, [Path(p) for p in lowers], self._tmp / "blobs")
            self.channel = ExecChannel(lambda: ["docker", "start", "-ai", self.container.id], dict(os.environ),
                                       "docker sandbox", watch=self._watch_disk if self._upper else None,
                                       reset=self._reset)
            self.channel.start()
        except BaseException:
            self.close()
            raise

    def _scenario_image(self, c: docker.DockerClient) -> str:
        """The sandbox image plus the scenario's files and roots as one more layer, cached by content: the
        files sit in a lower layer, so a step costs O(what the agent changed), not O(scenario files)."""
        files_dir = os.path.join(self.scenario.base_dir or ".", "files")
        payload = [(f.dest, open(os.path.join(files_dir, f.src), "rb").read(), f.mode) for f in self.scenario.files]
        dirs = sorted({d for d in [*self.scenario.roots, self.scenario.workdir] if d})
        h = hashlib.sha256(self.image_id.encode())
        for dest, data, mode in payload:
            h.update(f"{dest}\0{mode:o}\0{len(data)}\0".encode() + data)
        h.update("\0".join(dirs).encode())
        ref = f"{SCENARIO_REPO}:{h.hexdigest()[:24]}"
        try:
            c.images.get(ref)
            return ref
        except docker.errors.ImageNotFound:
            pass
        tmp = c.containers.create(self.image, command=["true"], labels={LABEL: owner_stamp(os.getpid())})
        try:
            if not tmp.put_archive("/", _tar_of(payload, dirs)):
                raise SandboxError("could not copy the scenario files into the container")
            tmp.commit(repository=SCENARIO_REPO, tag=ref.split(":")[1])
        finally:
            tmp.remove(force=True)
        return ref

    def _reset(self) -> None:
        try:
            self.container.kill()
        except docker.errors.DockerException:
            pass  # already stopped: `docker start -ai` starts it again on the same filesystem
        self.container.wait(timeout=30)

    def _watch_disk(self) -> str | None:
        """Soft disk quota where the engine has none: every 0.2 s of a command, the bytes the upper dir holds;
        over the limit and still growing, the command is killed (overshoot: what it writes in ~0.2 s)."""
        if self.disk_quota != "watched" or self._upper is None or time.monotonic() < self._next_disk_check:
            return None
        t0 = time.monotonic()
        used = 0
        for dirpath, _, filenames in os.walk(self._upper):
            for n in filenames:
                try:
                    used += os.lstat(os.path.join(dirpath, n)).st_blocks * 512
                except OSError:
                    pass
        # A huge upper dir makes the walk slow: then look less often (never more than ~10% of the time).
        self._next_disk_check = time.monotonic() + max(0.2, 10 * (time.monotonic() - t0))
        grew = used > self._disk_at_start + (16 << 20)
        self._disk_used = used
        if used > self.disk and grew:  # over quota and still writing (rm/cat of what is there stay allowed)
            return f"disk quota exceeded ({used >> 20} MiB written, limit {self.disk >> 20} MiB)"
        return None

    def exec(self, command: str, timeout: float, shell: str = "bash") -> ExecResult:
        assert self.channel is not None, "sandbox not started"
        self._disk_at_start, self._next_disk_check = self._disk_used, time.monotonic() + 0.2
        return self.channel.exec(command, timeout, shell=shell, cwd=self.scenario.workdir or "/")

    def read_file(self, path: str) -> bytes:
        assert self.container is not None
        try:
            stream, _ = self.container.get_archive(path)
        except docker.errors.NotFound:
            raise FileNotFoundError(path) from None
        with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(iter(stream))), mode="r|") as tar:
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
        """One streamed tar per root (names as raw bytes survive; nothing is parsed out of text)."""
        assert self.container is not None
        snap: dict[str, bytes] = {}
        for root in roots:
            try:
                stream, _ = self.container.get_archive(root.rstrip("/") or "/")
            except docker.errors.NotFound:
                continue
            base = root.rstrip("/").rsplit("/", 1)[0]
            with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(iter(stream))), mode="r|",
                              encoding="utf-8", errors="surrogateescape") as tar:
                for m in tar:
                    path = f"{base}/{m.name}"
                    if m.issym():
                        snap[path] = f"symlink -> {m.linkname}".encode()
                    elif m.isfile():
                        if m.size > MAX_SNAPSHOT_FILE:
                            snap[path] = f"<{m.size} bytes, mtime {m.mtime}>".encode()
                        else:
                            fh = tar.extractfile(m)
                            snap[path] = fh.read() if fh else b""
        return snap

    def file_state(self) -> FileState:
        if self.tracker is not None:
            return self.tracker.state()
        # No access to the engine's storage: the scenario roots, by content.
        self._last_snapshot = self.snapshot(self.scenario.roots)
        return {p: FileMeta(sha(v), len(v), 0, "file") for p, v in self._last_snapshot.items()}

    def changes_since(self, previous: FileState, run_id: str, step_idx: int,
                      scenario: Scenario | None = None) -> tuple[list[FileChange], FileState]:
        sc = scenario or self.scenario
        if self.tracker is not None:
            cur = self.tracker.state()
            return self.tracker.changes(previous, cur, run_id, step_idx, sc), cur
        after = self.snapshot(self.scenario.roots)
        before, self._last_snapshot = self._last_snapshot, after
        state = {p: FileMeta(sha(v), len(v), 0, "file") for p, v in after.items()}
        return diff_snapshots(run_id, step_idx, before, after, sc), state

    def close(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        if self.container is None:
            return
        cid = self.container.id
        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except Exception as exc:  # noqa: BLE001 - DockerException, or requests' timeouts (huge layers, busy engine)
            raise SandboxError(f"could not remove container {cid[:12]} ({str(exc)[:160]}); "
                               "`odcv sandbox prune` removes it once this process has exited") from exc
        finally:
            with _live_lock:
                _live.pop(cid, None)
            self.container = None
