"""Docker-like resource limits for the local sandbox: a cgroup per run (pids, memory, cpu; v1 or v2, detected)
and a size-capped scratch filesystem holding the run's writable layer (a sparse ext4 image on a loop device,
so the agent's writes land on disk under a quota, or a tmpfs with size= where loop devices are missing).

Root inside the sandbox is host uid 0 with caps dropped, so RLIMIT_NPROC would not bind: cgroups do."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from odcv_tui.core.errors import SandboxError

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP = "odcv"


@dataclass
class Limits:
    pids: int = 256
    memory: int = 1 << 30
    cpus: float = 1.0
    disk: int = 2 << 30


def cgroup_v2() -> bool:
    return (CGROUP_ROOT / "cgroup.controllers").exists()


@dataclass
class Cgroup:
    """The per-run cgroup directories (one per v1 controller, one for v2)."""

    name: str
    dirs: list[Path] = field(default_factory=list)

    @classmethod
    def create(cls, name: str, lim: Limits) -> Cgroup:
        cg = cls(name)
        try:
            if cgroup_v2():
                parent = CGROUP_ROOT / GROUP
                parent.mkdir(exist_ok=True)
                for ctl in ("+pids", "+memory", "+cpu"):  # let the children use the controllers
                    for d in (CGROUP_ROOT, parent):
                        _write(d / "cgroup.subtree_control", ctl, missing_ok=True)
                d = parent / name
                d.mkdir()
                cg.dirs.append(d)
                _write(d / "pids.max", str(lim.pids))
                _write(d / "memory.max", str(lim.memory))
                _write(d / "memory.swap.max", "0", missing_ok=True)
                _write(d / "cpu.max", f"{int(lim.cpus * 100_000)} 100000")
            else:
                for ctl, settings in (("pids", {"pids.max": str(lim.pids)}),
                                      ("memory", {"memory.limit_in_bytes": str(lim.memory),
                                                  "memory.memsw.limit_in_bytes": str(lim.memory)}),
                                      ("cpu", {"cpu.cfs_period_us": "100000",
                                               "cpu.cfs_quota_us": str(int(lim.cpus * 100_000))})):
                    base = CGROUP_ROOT / ctl
                    if not base.is_dir():
                        raise SandboxError(f"cgroup v1 controller {ctl} is not mounted at {base}")
                    d = base / GROUP / name
                    d.mkdir(parents=True)
                    cg.dirs.append(d)
                    for key, value in settings.items():
                        # memsw exists only with swap accounting; without swap the memory limit is the cap.
                        _write(d / key, value, missing_ok=key.startswith("memory.memsw"))
        except (OSError, SandboxError) as exc:
            cg.destroy()
            if isinstance(exc, SandboxError):
                raise
            raise SandboxError(f"could not set up the sandbox cgroup ({exc}); the local sandbox needs root "
                               "and cgroup pids/memory/cpu controllers (or use --sandbox docker)") from exc
        return cg

    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs:
            try:
                found.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return found

    def kill_all(self, budget: float = 5.0) -> None:
        end = time.monotonic() + budget
        while (pids := self.pids()) and time.monotonic() < end:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def destroy(self) -> None:
        self.kill_all()
        for d in self.dirs:
            for _ in range(100):  # rmdir fails while the last killed task is still exiting
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.dirs = []


def _write(path: Path, value: str, missing_ok: bool = False) -> None:
    try:
        path.write_text(value)
    except (FileNotFoundError, PermissionError, OSError):
        if not missing_ok:
            raise


def join_wrapper(procs_files: list[str], argv: list[str]) -> list[str]:
    """`sh` joins the cgroups, then execs argv: the sandbox is confined from its first instruction, and no
    preexec_fn runs in our (threaded) process."""
    script = 'while [ "$1" != "--" ]; do echo $$ > "$1" || exit 97; shift; done; shift; exec "$@"'
    return ["/bin/sh", "-c", script, "odcv-cgroup", *procs_files, "--", *argv]


def mount_scratch(mnt: Path, image: Path, size: int) -> str:
    """A size-capped filesystem at `mnt`: a sparse ext4 image on a loop device, else a tmpfs."""
    mnt.mkdir(parents=True, exist_ok=True)
    if shutil.which("mkfs.ext4"):
        try:
            with open(image, "wb") as fh:
                fh.truncate(size)
            # -i 4096: an inode per 4 KiB (a container's disk runs out of bytes long before inodes).
            subprocess.run(["mkfs.ext4", "-q", "-F", "-i", "4096", "-O", "^has_journal", "-E",
                            "lazy_itable_init=1,lazy_journal_init=1,root_owner=0:0", str(image)],
                           check=True, capture_output=True)
            subprocess.run(["mount", "-o", "loop", str(image), str(mnt)], check=True, capture_output=True)
            return "ext4"
        except (OSError, subprocess.CalledProcessError):
            image.unlink(missing_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "odcv-scratch", str(mnt)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SandboxError(f"could not mount the sandbox's scratch filesystem: {proc.stderr.strip()[:200]}")
    return "tmpfs"


def umount(path: Path) -> None:
    if os.path.ismount(path):
        proc = subprocess.run(["umount", str(path)], capture_output=True)
        if proc.returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
