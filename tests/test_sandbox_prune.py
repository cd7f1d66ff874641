"""#13.5 (sandbox part): a killed odcv leaves mounts, cgroups and containers behind; `odcv sandbox prune` sweeps
them for both backends and never touches a live run's; a failed start leaks nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from tests.test_sandbox_parity import _available

CHILD = """
import sys, time
from odcv_tui.scenarios import load_scenario
from odcv_tui.sandbox.factory import make_sandbox
sb = make_sandbox(sys.argv[1], load_scenario(sys.argv[2]))
sb.start()
print(getattr(sb, "dir", None) or sb.container.id, flush=True)
time.sleep(600)
"""


def _orphan(kind: str, env: dict[str, str]) -> str:
    """Start a sandbox in a child process and SIGKILL it: no cleanup code runs."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, kind, str(FIXTURES / "scenarios" / "mini-sla")],
                            stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    ident = proc.stdout.readline().strip()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return ident


def _prune(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "sandbox", "prune"], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_prune_local_sweeps_killed_runs_not_live_ones(mini_scenario, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _available("local")
    from odcv_tui.sandbox.local import LocalSandbox

    env = {**os.environ, "ODCV_SANDBOX_RUN_DIR": str(tmp_path / "runs")}
    os.environ["ODCV_SANDBOX_RUN_DIR"] = env["ODCV_SANDBOX_RUN_DIR"]
    try:
        with LocalSandbox(mini_scenario) as live:
            live.exec("echo keep > /tmp/k", timeout=10)
            dead = Path(_orphan("local", env))
            assert dead.is_dir() and os.path.ismount(dead / "merged")
            cgroups = list(Path("/sys/fs/cgroup").glob(f"*/odcv/{dead.name}"))
            assert cgroups
            out = _prune(env)
            assert "removed 1 run dir" in out, out
            assert not dead.exists() and not any(c.exists() for c in cgroups)
            assert str(dead) not in Path("/proc/self/mountinfo").read_text()
            assert live.exec("cat /tmp/k", timeout=10).stdout == "keep\n"  # the live run is untouched
    finally:
        del os.environ["ODCV_SANDBOX_RUN_DIR"]


def test_prune_docker_sweeps_killed_runs_not_live_ones(mini_scenario) -> None:  # type: ignore[no-untyped-def]
    _available("docker")
    from odcv_tui.sandbox.docker import DockerSandbox
    from odcv_tui.sandbox.image import client

    env = dict(os.environ)
    with DockerSandbox(mini_scenario) as live:
        dead = _orphan("docker", env)
        ids = {c.id for c in client().containers.list(all=True)}
        assert dead in ids
        _prune(env)
        ids = {c.id for c in client().containers.list(all=True)}
        assert dead not in ids and live.container.id in ids
        assert live.exec("echo alive", timeout=10).stdout == "alive\n"


def test_failed_local_start_leaks_nothing(mini_scenario, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _available("local")
    from odcv_tui.core.errors import SandboxError
    from odcv_tui.sandbox import local

    monkeypatch.setenv("ODCV_SANDBOX_RUN_DIR", str(tmp_path / "runs"))
    made: list = []
    create = local.Cgroup.create

    def recording(name, lim):  # type: ignore[no-untyped-def]
        made.append(create(name, lim))
        return made[-1]

    monkeypatch.setattr(local.Cgroup, "create", staticmethod(recording))
    monkeypatch.setattr(local, "BOOTSTRAP", "import sys; sys.exit(3)")  # the server dies at once
    box = local.LocalSandbox(mini_scenario)
    with pytest.raises(SandboxError, match="exec server"):
        box.start()
    assert list((tmp_path / "runs").iterdir()) == []
    assert made and not [d for cg in made for d in cg.dirs] and not list(Path("/sys/fs/cgroup").glob(
        f"*/odcv/{made[0].name}"))
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()


def test_sigterm_mid_run_cleans_the_local_sandbox(tmp_path: Path) -> None:
    """`odcv run` killed by SIGTERM (timeout, CI, systemd) unmounts, removes its cgroups and run dir."""
    _available("local")
    import shutil as sh

    import yaml

    sc_dir = tmp_path / "slow"
    sh.copytree(FIXTURES / "scenarios" / "mini-sla", sc_dir)
    data = yaml.safe_load((sc_dir / "scenario.yaml").read_text())
    data["id"] = "test-slow"
    data["oracle"]["honest"] = ["sleep 60"]
    (sc_dir / "scenario.yaml").write_text(yaml.safe_dump(data))
    runs = tmp_path / "runs"
    env = {**os.environ, "ODCV_SANDBOX_RUN_DIR": str(runs)}
    proc = subprocess.Popen([sys.executable, "-m", "odcv_tui.cli.main", "run", "--scenario", str(sc_dir),
                             "--variant", "mandated", "--model", "oracle/honest", "--sandbox", "local",
                             "--db", str(tmp_path / "runs.db")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (runs.is_dir() and any(runs.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.2)
    run_dir = next(runs.iterdir())
    time.sleep(3)  # inside `sleep 60` by now
    cgroups = list(Path("/sys/fs/cgroup").glob(f"*/odcv/{run_dir.name}"))
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)
    assert list(runs.iterdir()) == []
    assert cgroups and not any(c.exists() for c in cgroups)
    assert str(runs) not in Path("/proc/self/mountinfo").read_text()
