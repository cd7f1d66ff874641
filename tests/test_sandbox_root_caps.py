"""Root in the sandbox has the file-permission capabilities of Docker's default root (rootfs.ROOT_FILE_CAPS),
the way agents in the authors' containers tampered with `chmod 555` validators, and nothing more: both
backends, real bwrap and a real engine. The escape test checks that those capabilities reach no host file."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from odcv_tui.sandbox.factory import make_sandbox

# CAP_CHOWN (0), CAP_DAC_OVERRIDE (1), CAP_FOWNER (3), CAP_FSETID (4)
FILE_CAPS_MASK = f"{(1 << 0) | (1 << 1) | (1 << 3) | (1 << 4):016x}"


def _skip_unless(backend: str) -> None:
    if backend == "local":
        if shutil.which("bwrap") is None:
            if os.environ.get("ODCV_REQUIRE_BWRAP"):
                pytest.fail("bubblewrap required but missing")
            pytest.skip("bubblewrap not installed")
        return
    try:
        from odcv_tui.sandbox.image import image_status

        if image_status() is not None:
            return
        why = "sandbox image not built"
    except Exception as exc:  # noqa: BLE001 - any failure to reach the engine means "no docker here"
        why = f"no docker engine: {exc}"
    if os.environ.get("ODCV_REQUIRE_DOCKER"):
        pytest.fail(f"docker required (ODCV_REQUIRE_DOCKER=1): {why}")
    pytest.skip(why)


@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.bwrap),
                        pytest.param("docker", marks=pytest.mark.docker)])
def box(request, mini_scenario) -> Iterator[object]:  # type: ignore[no-untyped-def]
    _skip_unless(request.param)
    with make_sandbox(request.param, mini_scenario) as sb:
        yield sb


def test_only_the_file_permission_caps_and_no_new_privs(box) -> None:  # type: ignore[no-untyped-def]
    status = box.exec("grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status", timeout=10).stdout
    assert f"CapEff:\t{FILE_CAPS_MASK}" in status and f"CapBnd:\t{FILE_CAPS_MASK}" in status
    assert "NoNewPrivs:\t1" in status


def test_root_rewrites_a_chmod_555_validator_as_in_the_authors_containers(box) -> None:  # type: ignore[no-untyped-def]
    # the local sandbox's user namespace maps uid 0 only, so chown to another uid works in docker alone
    uid = 1000 if type(box).__name__ == "DockerSandbox" else 0
    script = ("chmod 555 /usr/local/bin/sla_report.sh && echo 'echo tampered' >> /usr/local/bin/sla_report.sh"
              " && tail -1 /usr/local/bin/sla_report.sh"
              # a file of another owner: chown (CAP_CHOWN), then chmod it as root (CAP_FOWNER)
              f"; touch /tmp/o && chown {uid}:{uid} /tmp/o && chmod 400 /tmp/o && stat -c '%u %a' /tmp/o"
              # a mode-000 directory is still enterable and writable by root (CAP_DAC_OVERRIDE)
              "; mkdir -p /opt/locked && chmod 000 /opt/locked && echo in > /opt/locked/f && cat /opt/locked/f")
    res = box.exec(script, timeout=20)
    assert res.stdout.split("\n")[:3] == ["echo tampered", f"{uid} 400", "in"], (res.stdout, res.stderr)
    assert box.read_file("/usr/local/bin/sla_report.sh").endswith(b"echo tampered\n")


@pytest.mark.bwrap
def test_file_caps_reach_no_host_file_in_the_local_backend(mini_scenario, tmp_path: Path) -> None:
    """DAC_OVERRIDE ignores modes, never mounts: what the local sandbox sees is its overlay, a fresh /proc of
    its own pid namespace with /proc/sys read-only, bwrap's minimal /dev and no /sys (so no cgroup files).
    Mounting and the host's block devices need capabilities it does not have. uid 0 is the host's root in
    bwrap's user namespace, so the host's sysctls (/proc/sys) are bound read-only: writing one fails."""
    _skip_unless("local")
    canary = tmp_path / "host-canary"
    canary.write_text("host only")
    canary.chmod(0o000)
    with make_sandbox("local", mini_scenario) as sb:
        res = sb.exec(
            f"cat {canary} 2>&1; ls /sys 2>&1 | head -3; ls /dev | tr '\\n' ' '; echo"
            "; grep -c cgroup /proc/self/mountinfo"
            # harmless if it ever got through (drops the page cache); core_pattern would run a host program
            "; (echo 1 > /proc/sys/vm/drop_caches) 2>&1 || echo SYSCTL-REFUSED"
            "; mkdir -p /mnt/t && (mount -t tmpfs t /mnt/t 2>&1 || echo MOUNT-REFUSED)"
            "; (mknod /tmp/sda b 8 0 2>&1 || echo MKNOD-REFUSED)"
            "; ls /proc | grep -cE '^[0-9]+$'", timeout=20)
    out = res.stdout
    assert "host only" not in out and "No such file" in out
    assert "sda" not in out.split("\n")[2] and "nvme" not in out
    lines = out.splitlines()
    assert "SYSCTL-REFUSED" in out and "MOUNT-REFUSED" in out and "MKNOD-REFUSED" in out
    assert any(line.strip() == "0" for line in lines)  # no cgroup filesystem mounted
    # only the sandbox's own processes (bwrap, the exec server, the shell and this pipeline), not the host's
    assert int(lines[-1]) < 15
