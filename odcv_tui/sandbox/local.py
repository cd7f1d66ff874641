"""The local backend: the sandbox image's own root filesystem (rootfs.py) under a per-run overlay, entered
with bubblewrap: no network (--unshare-all), every capability dropped but Docker root's file-permission ones
(rootfs.ROOT_FILE_CAPS), no host environment, no host file.

Per run, under $ODCV_SANDBOX_RUN_DIR (default /tmp/odcv-sandboxes)/run-XXXX/:
  owner      pid, host and start time of the odcv process (prune never touches a live run)
  scratch/   size-capped filesystem (limits.py): upper/ work/ (overlay) and scen/ (scenario files, a lower layer)
  merged/    overlay of upper over scen over the rootfs tree: the sandbox's /
  blobs/     small file contents seen so far, to diff the next change against
One exec server (exec_server.py) runs inside for the whole run, in a cgroup with pids/memory/cpu limits, so
every path keeps its content across commands, like a container. The upper dir is the record of what the
agent changed (overlay_state.py).
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from odcv_tui.core.errors import SandboxError
from odcv_tui.core.protocols import FileState
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import ExecResult, FileChange
from odcv_tui.sandbox import rootfs
from odcv_tui.sandbox.exec_channel import BOOTSTRAP, ExecChannel
from odcv_tui.sandbox.limits import Cgroup, Limits, join_wrapper, mount_scratch, umount
from odcv_tui.sandbox.overlay_state import OverlayTracker
from odcv_tui.sandbox.tree_io import open_in, resolve_in_tree, snapshot_dir

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ENV = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb", "HOSTNAME": "odcv-sandbox"}
SHM_SIZE = 64 << 20  # docker's default /dev/shm
PROC_COVERS = [a for p in ("/proc/sys", "/proc/sysrq-trigger") if os.path.exists(p) for a in ("--ro-bind", p, p)]
_live: dict[str, LocalSandbox] = {}
_live_lock = threading.Lock()


def run_base() -> Path:
    return Path(os.environ.get("ODCV_SANDBOX_RUN_DIR", "/tmp/odcv-sandboxes"))


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxError("bubblewrap (bwrap) not found: apt-get install bubblewrap (or use --sandbox docker)")
    return path


def owner_stamp(pid: int) -> str:
    """pid, host and the process's start time (so a recycled pid is not mistaken for the owner)."""
    try:
        start = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        start = "?"
    return f"{pid} {socket.gethostname()} {start}"


def _sweep() -> None:
    with _live_lock:
        boxes = list(_live.values())
    for box in boxes:
        box.close()


atexit.register(_sweep)


class LocalSandbox:
    name = "local"

    def __init__(self, scenario: Scenario, limits: Limits | None = None) -> None:
        self.scenario = scenario
        self.limits = limits or Limits()
        self.bwrap = bwrap_path()
        self.image_id = ""
        self.dir: Path | None = None
        self.merged: Path | None = None
        self.cgroup: Cgroup | None = None
        self.channel: ExecChannel | None = None
        self.tracker: OverlayTracker | None = None
        self.fs_kind = ""

    def __enter__(self) -> LocalSandbox:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        if os.geteuid() != 0:
            raise SandboxError("the local sandbox needs root (overlay mounts, cgroups): run odcv as root "
                               "or use --sandbox docker")
        tree = rootfs.require_tree()
        self.image_id = rootfs.tree_id(tree)
        run_base().mkdir(parents=True, exist_ok=True, mode=0o700)
        self.dir = Path(tempfile.mkdtemp(prefix="run-", dir=run_base()))
        with _live_lock:
            _live[str(self.dir)] = self
        try:
            (self.dir / "owner").write_text(owner_stamp(os.getpid()) + "\n")
            scratch = self.dir / "scratch"
            self.fs_kind = mount_scratch(scratch, self.dir / "disk.img", self.limits.disk)
            upper, work, scen = scratch / "upper", scratch / "work", scratch / "scen"
            for d in (upper, work, scen):
                d.mkdir(mode=0o755)
            self._install_scenario(scen, tree)
            self.merged = self.dir / "merged"
            self.merged.mkdir()
            # redirect_dir/metacopy off: a renamed or chmod'ed lower file is copied up whole, so the upper
            # dir alone says what changed.
            opts = f"lowerdir={scen}:{tree},upperdir={upper},workdir={work},redirect_dir=off,metacopy=off,index=off"
            proc = subprocess.run(["mount", "-t", "overlay", "odcv-overlay", "-o", opts, str(self.merged)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise SandboxError(f"could not mount the sandbox overlay: {proc.stderr.strip()[:200]}")
            self.cgroup = Cgroup.create(self.dir.name, self.limits)
            self.tracker = OverlayTracker(upper, [scen, tree], self.dir / "blobs")
            self.channel = ExecChannel(self._argv, {"PATH": PATH}, "local sandbox", reset=self.cgroup.kill_all)
            self.channel.start()
        except BaseException:
            self.close()
            raise

    def _install_scenario(self, scen: Path, tree: Path) -> None:
        """Scenario files and roots go into their own lower layer, so the upper dir starts empty. Paths are
        resolved through the image's symlinks (/bin -> usr/bin) so a real dir never shadows them."""
        files_dir = Path(self.scenario.base_dir or ".") / "files"
        for d in [*self.scenario.roots, self.scenario.workdir]:
            if d:
                (scen / resolve_in_tree(tree, d).lstrip("/")).mkdir(parents=True, exist_ok=True, mode=0o755)
        for f in self.scenario.files:
            dest = scen / resolve_in_tree(tree, f.dest).lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            dest.write_bytes((files_dir / f.src).read_bytes())
            os.chmod(dest, f.mode)

    def _argv(self) -> list[str]:
        assert self.merged is not None and self.cgroup is not None
        # uid 0 inside is the host's root (bwrap maps 0 to 0), and bwrap 0.8 leaves the new /proc's sys/ and
        # sysrq-trigger writable when it runs as root: without these read-only binds a command could set host
        # sysctls (kernel.core_pattern runs a program as host root), whatever the capabilities.
        argv = [self.bwrap, "--bind", str(self.merged), "/", "--proc", "/proc", *PROC_COVERS, "--dev", "/dev",
                "--size", str(SHM_SIZE), "--tmpfs", "/dev/shm",
                "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                *[a for cap in rootfs.ROOT_FILE_CAPS for a in ("--cap-add", cap)],
                "--uid", "0", "--gid", "0", "--hostname", "odcv-sandbox", "--clearenv"]
        for key, value in ENV.items():
            argv += ["--setenv", key, value]
        argv += ["--chdir", "/", "/usr/bin/python3", "-I", "-c", BOOTSTRAP]
        # bwrap itself is PID 1 of the sandbox and its /proc/1/environ is readable from inside: the channel
        # starts it with PATH only, never the host environment (API keys).
        return join_wrapper(self.cgroup.procs_files(), argv)

    def exec(self, command: str, timeout: float, shell: str = "bash") -> ExecResult:
        assert self.channel is not None, "sandbox not started"
        return self.channel.exec(command, timeout, shell=shell, cwd=self.scenario.workdir or "/")

    def read_file(self, path: str) -> bytes:
        assert self.merged is not None, "sandbox not started"
        fd = open_in(self.merged, path, os.O_RDONLY)
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        assert self.merged is not None, "sandbox not started"
        fd = open_in(self.merged, path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode, make_parents=True)
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def snapshot(self, roots: list[str]) -> dict[str, bytes]:
        assert self.merged is not None, "sandbox not started"
        return snapshot_dir(self.merged, roots)

    def file_state(self) -> FileState:
        assert self.tracker is not None, "sandbox not started"
        return self.tracker.state()

    def changes_since(self, previous: FileState, run_id: str, step_idx: int,
                      scenario: Scenario | None = None) -> tuple[list[FileChange], FileState]:
        assert self.tracker is not None, "sandbox not started"
        cur = self.tracker.state()
        return self.tracker.changes(previous, cur, run_id, step_idx, scenario or self.scenario), cur

    def close(self) -> None:
        if self.dir is None:
            return
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.cgroup is not None:
            self.cgroup.destroy()
            self.cgroup = None
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None
        remove_run_dir(self.dir)
        with _live_lock:
            _live.pop(str(self.dir), None)
        self.dir = self.merged = None


def remove_run_dir(d: Path) -> None:
    """Unmount and delete one run's dir (also used by prune for runs a killed process left behind)."""
    umount(d / "merged")
    umount(d / "scratch")
    # A tmpfs-less fallback could leave agent-made read-only dirs behind: make them writable first.
    for dirpath, dirnames, _ in os.walk(d):
        for name in dirnames:
            p = os.path.join(dirpath, name)
            if not os.path.islink(p) and not os.path.ismount(p):
                try:
                    os.chmod(p, stat.S_IRWXU)
                except OSError:
                    pass
    shutil.rmtree(d, ignore_errors=True)


def prune_local() -> int:
    """Remove what killed runs left behind (run dirs, their mounts and cgroups), never a live run's: a run
    dir is stale when its owner stamp no longer matches a live process of this host."""
    from odcv_tui.sandbox.limits import CGROUP_ROOT, GROUP

    base, n = run_base(), 0
    if not base.is_dir():
        return 0
    for d in sorted(base.glob("run-*")):
        try:
            stamp = (d / "owner").read_text().strip()
        except OSError:
            stamp = ""
        parts = stamp.split()
        if len(parts) == 3 and parts[0].isdigit() and owner_stamp(int(parts[0])) == stamp:
            continue
        if not stamp and time.time() - d.stat().st_mtime < 120:
            continue  # being set up right now: the owner file is written just after the dir is made
        if len(parts) == 3 and parts[1] != socket.gethostname():
            continue  # a shared run dir: another host's run is not ours to judge
        Cgroup(d.name, [p for p in CGROUP_ROOT.glob(f"*/{GROUP}/{d.name}")] +
               [p for p in [CGROUP_ROOT / GROUP / d.name] if p.is_dir()]).destroy()
        remove_run_dir(d)
        n += 1
    return n
