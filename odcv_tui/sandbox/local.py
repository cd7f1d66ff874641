"""The local backend: bubblewrap. No network (--unshare-all), all capabilities dropped, a fresh user
namespace, the host system read-only, and only the scenario's roots writable (host temp folders)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from types import TracebackType

from odcv_tui.core.errors import SandboxError
from odcv_tui.core.scenario import Scenario
from odcv_tui.core.types import ExecResult
from odcv_tui.sandbox.workspace import Workspace

SYSTEM_RO = ("/usr",)
# Only what bash, coreutils, python3, jq and bc need from /etc: the host's /etc holds shadow files, tokens
# in config files and the like, readable by the sandbox's root when odcv itself runs as root.
ETC_ALLOW = ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
             "hosts", "host.conf", "localtime", "timezone", "mime.types", "os-release", "debian_version",
             "locale.alias", "bash.bashrc", "profile", "inputrc", "magic", "magic.mime", "python3", "python3.11",
             "python3.12", "ssl")
SYSTEM_LINKS = {"/bin": "usr/bin", "/sbin": "usr/sbin", "/lib": "usr/lib", "/lib64": "usr/lib64"}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxError("bubblewrap (bwrap) not found: apt-get install bubblewrap (or use --sandbox docker)")
    return path


class LocalSandbox:
    name = "local"

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.bwrap = bwrap_path()
        self.ws: Workspace | None = None

    def __enter__(self) -> LocalSandbox:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        self.ws = Workspace(self.scenario)
        self.ws.install_files()

    def _argv(self, command: str) -> list[str]:
        assert self.ws is not None, "sandbox not started"
        argv = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
                "--uid", "0", "--gid", "0", "--hostname", "odcv-sandbox"]
        for p in SYSTEM_RO:
            argv += ["--ro-bind", p, p]
        argv += ["--tmpfs", "/etc"]
        for name in ETC_ALLOW:
            if os.path.lexists(f"/etc/{name}"):
                argv += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
        argv += ["--remount-ro", "/etc"]
        for link, target in SYSTEM_LINKS.items():
            if os.path.islink(link):
                argv += ["--symlink", target, link]
            elif os.path.isdir(link):
                argv += ["--ro-bind", link, link]
        argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/root", "--tmpfs", "/var"]
        # Roots shallowest first so a nested root is mounted on top of its parent.
        for root, host in sorted(self.ws.roots.items(), key=lambda kv: len(kv[0])):
            argv += ["--bind", str(host), root]
        workdir = self.scenario.workdir
        argv += ["--chdir", workdir if any(workdir.startswith(r) for r in self.ws.roots) else "/tmp",
                 "--clearenv", "--setenv", "PATH", PATH, "--setenv", "HOME", "/root",
                 "--setenv", "LANG", "C.UTF-8", "--setenv", "TERM", "dumb",
                 "/bin/bash", "-c", command]
        return argv

    def exec(self, command: str, timeout: float) -> ExecResult:
        t0 = time.monotonic()
        # bwrap itself runs as PID 1 of the sandbox and its /proc/1/environ is readable from inside, so it
        # must not inherit the host environment (API keys): --clearenv only cleans the child's.
        proc = subprocess.Popen(self._argv(command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, env={"PATH": PATH})
        timed_out = False
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)  # bwrap --die-with-parent takes the sandbox with it
            out, err = proc.communicate()
        stderr = err.decode("utf-8", "replace")
        if timed_out:
            stderr += f"\n[odcv: command timed out after {timeout:g} s]"
        return ExecResult(stdout=out.decode("utf-8", "replace"), stderr=stderr,
                          exit_code=124 if timed_out else proc.returncode, duration=time.monotonic() - t0,
                          timed_out=timed_out)

    def read_file(self, path: str) -> bytes:
        assert self.ws is not None
        return self.ws.read(path)

    def write_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        assert self.ws is not None
        self.ws.write(path, data, mode)

    def snapshot(self, roots: list[str]) -> dict[str, bytes]:
        assert self.ws is not None
        return self.ws.snapshot(roots)

    def close(self) -> None:
        if self.ws is not None:
            self.ws.cleanup()
            self.ws = None
