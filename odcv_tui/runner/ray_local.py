"""A real Ray cluster on this one machine, for tests, benchmarks and trying `--executor ray`: a head and
worker nodes, each a separate `ray start --block` process group, so a node can be killed (its raylet
SIGKILLed, as when a machine drops off the network) and the whole cluster torn down by the process ids
we started, never by name."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

SMALL_OBJECT_STORE = 80_000_000  # bytes; Ray's minimum-ish, so several nodes fit on a small box


@dataclass
class Node:
    proc: subprocess.Popen  # type: ignore[type-arg]
    num_cpus: float
    log: Path

    def raylet_pid(self) -> int | None:
        """The raylet in this node's process group (Linux /proc; `ray start` does not setsid its children)."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # Fields after the parenthesised command name: state ppid pgrp ...
            name = stat[stat.index("(") + 1: stat.rindex(")")]
            pgrp = int(stat[stat.rindex(")") + 2:].split()[2])
            if name == "raylet" and pgrp == self.proc.pid:
                return int(entry)
        return None


@dataclass
class LocalCluster:
    object_store: int = SMALL_OBJECT_STORE
    address: str = ""
    nodes: list[Node] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="odcvray-")))
    env: dict[str, str] = field(default_factory=dict)  # e.g. RAY_health_check_* to notice a dead node sooner

    def fast_failure_detection(self) -> LocalCluster:
        """The GCS declares a silent node dead after ~2 s instead of ~30 s (tests; real clusters keep Ray's
        defaults, which tolerate network blips)."""
        self.env.update({"RAY_health_check_period_ms": "500", "RAY_health_check_timeout_ms": "1000",
                         "RAY_health_check_failure_threshold": "3"})
        return self

    def _ray(self) -> str:
        exe = shutil.which("ray")
        if exe is None:
            raise RuntimeError("the `ray` command is not installed (pip install 'odcv-tui[ray]')")
        return exe

    def _start(self, args: list[str], num_cpus: float, ready: str, timeout: float) -> Node:
        log = self.workdir / f"node{len(self.nodes)}.log"
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", **self.env}
        with open(log, "wb") as fh:
            proc = subprocess.Popen([self._ray(), "start", "--block", f"--num-cpus={num_cpus}",
                                     f"--object-store-memory={self.object_store}", "--disable-usage-stats", *args],
                                    stdout=fh, stderr=subprocess.STDOUT, start_new_session=True, env=env)
        node = Node(proc, num_cpus, log)
        self.nodes.append(node)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if ready in text and node.raylet_pid() is not None:
                return node
            if proc.poll() is not None:
                raise RuntimeError(f"ray start exited {proc.returncode}: {text[-2000:]}")
            time.sleep(0.3)
        raise RuntimeError(f"ray node not up after {timeout:.0f} s (log {log})")

    def start_head(self, num_cpus: float = 0, timeout: float = 120) -> str:
        """A head node; with num_cpus=0 it only coordinates (runs go to worker nodes)."""
        self._start(["--head", "--port=0", "--include-dashboard=false"], num_cpus, "Ray runtime started",
                    timeout)
        self.address = self._head_address(timeout)
        return self.address

    def _head_address(self, timeout: float) -> str:
        import re

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(r"ray start --address='([^']+)'", self.nodes[0].log.read_text(errors="replace"))
            if m:
                return m.group(1)
            time.sleep(0.2)
        raise RuntimeError("head node printed no address")

    def add_node(self, num_cpus: float = 1, timeout: float = 120) -> Node:
        if not self.address:
            raise RuntimeError("start the head first")
        return self._start([f"--address={self.address}"], num_cpus, "Ray runtime started", timeout)

    def kill_node(self, node: Node) -> None:
        """SIGKILL the node's raylet (its workers die with it), as when the machine is lost."""
        pid = node.raylet_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        # Workers first, then the head; each node is its own process group that we started.
        for node in reversed(self.nodes):
            try:
                os.killpg(node.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                node.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.nodes.clear()
        shutil.rmtree(self.workdir, ignore_errors=True)
