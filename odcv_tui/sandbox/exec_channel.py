"""Host side of the exec server (exec_server.py): one long-lived process per run whose stdin/stdout carry
length-prefixed JSON frames. The transport is whatever starts the server inside the sandbox (`bwrap ...` for
local, `docker start -ai` for docker); if the agent kills the server, the next command restarts it on the same
filesystem, so the run goes on with its state intact."""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from odcv_tui.core.errors import SandboxError
from odcv_tui.core.types import ExecResult

SERVER_SOURCE = (Path(__file__).with_name("exec_server.py")).read_text()
# What the sandbox's python3 is started with: it reads the server's source from stdin (sent by start()), so
# `ps` inside shows one short line and nothing the agent can edit is ever executed.
BOOTSTRAP = "import sys; exec(compile(sys.stdin.buffer.read(int(sys.stdin.buffer.readline())), 'odcv-exec', 'exec'))"
OUTPUT_CAP = 1 << 20  # bytes kept per stream (head + tail); the agent loop caps further for the model
WATCHDOG_GRACE = 20.0  # the server enforces the timeout; the host steps in only if the server hangs


class ServerDied(SandboxError):
    pass


class ExecChannel:
    def __init__(self, argv: Callable[[], list[str]], env: dict[str, str], label: str,
                 watch: Callable[[], str | None] | None = None, reset: Callable[[], None] | None = None) -> None:
        """`argv()` builds the transport command; `watch()` runs while a command is in flight (about every
        0.2 s) and returns a reason to abort it (e.g. disk quota exceeded) or None; `reset()` kills whatever
        is left inside the sandbox before the server is started again."""
        self._argv, self._env, self.label, self._watch, self._reset = argv, env, label, watch, reset
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr = tempfile.TemporaryFile()

    def start(self) -> None:
        self.proc = subprocess.Popen(self._argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, start_new_session=True, env=self._env)
        source = SERVER_SOURCE.encode()
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(b"%d\n" % len(source) + source)
            self.proc.stdin.flush()
        except OSError as exc:
            raise SandboxError(f"{self.label}: exec server did not start: {self._stderr_tail()}") from exc
        hello = self._read(30.0)
        if not hello.get("ready"):
            raise SandboxError(f"{self.label}: exec server did not start: {self._stderr_tail()}")

    def _stderr_tail(self) -> str:
        self._stderr.seek(0, os.SEEK_END)
        size = self._stderr.tell()
        self._stderr.seek(max(0, size - 400))
        lines = self._stderr.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1][:300] if lines else "no output"

    def _read_exact(self, n: int, deadline: float, watch: bool = False) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        fd, buf = self.proc.stdout.fileno(), b""
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], min(left, 0.2))
            if not ready:
                reason = self._watch() if watch and self._watch else None
                if reason:
                    raise _Aborted(reason)
                continue
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise ServerDied(f"{self.label}: exec server exited ({self._stderr_tail()})")
            buf += chunk
        return buf

    def _read(self, wait: float, watch: bool = False) -> dict[str, Any]:
        deadline = time.monotonic() + wait
        (n,) = struct.unpack(">I", self._read_exact(4, deadline, watch))
        return json.loads(self._read_exact(n, deadline))

    def _send(self, obj: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        data = json.dumps(obj).encode()
        try:
            self.proc.stdin.write(struct.pack(">I", len(data)) + data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise ServerDied(f"{self.label}: exec server gone ({exc})") from exc

    def exec(self, command: str, timeout: float, shell: str = "bash", cwd: str = "/") -> ExecResult:
        t0 = time.monotonic()
        if self.proc is None or self.proc.poll() is not None:
            self.restart()
        try:
            self._send({"command": command, "timeout": timeout, "shell": shell, "cwd": cwd, "cap": OUTPUT_CAP})
            reply = self._read(timeout + WATCHDOG_GRACE, watch=True)
        except (ServerDied, TimeoutError, _Aborted) as exc:
            why = str(exc) if isinstance(exc, _Aborted) else "the command killed the sandbox's exec server" \
                if isinstance(exc, ServerDied) else "the exec server stopped answering"
            self.restart()
            return ExecResult(stderr=f"[odcv: {why}; every process in the sandbox was killed]", exit_code=137,
                              duration=time.monotonic() - t0, timed_out=isinstance(exc, TimeoutError))
        stderr = reply.get("stderr", "")
        if reply.get("timed_out"):
            stderr += f"\n[odcv: command timed out after {timeout:g} s]"
        return ExecResult(stdout=reply.get("stdout", ""), stderr=stderr, exit_code=int(reply.get("exit_code", 1)),
                          duration=time.monotonic() - t0, timed_out=bool(reply.get("timed_out")),
                          truncated=bool(reply.get("truncated")))

    def restart(self) -> None:
        self.stop()
        if self._reset:
            self._reset()
        self.start()

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def close(self) -> None:
        self.stop()
        self._stderr.close()


class _Aborted(Exception):
    pass
