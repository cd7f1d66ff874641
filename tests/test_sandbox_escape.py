"""Agent commands cannot reach the network or touch host files, whatever the backend (local here;
the docker backend's own tests cover it there)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from odcv_tui.sandbox.factory import make_sandbox

pytestmark = pytest.mark.bwrap


@pytest.fixture
def box(mini_scenario):  # type: ignore[no-untyped-def]
    if shutil.which("bwrap") is None:
        if os.environ.get("ODCV_REQUIRE_BWRAP"):
            pytest.fail("bubblewrap required but missing")
        pytest.skip("bubblewrap not installed")
    with make_sandbox("local", mini_scenario) as sb:
        yield sb


def test_no_network(box) -> None:  # type: ignore[no-untyped-def]
    res = box.exec("python3 -c \"import socket; s=socket.socket(); s.settimeout(3); "
                   "s.connect(('1.1.1.1', 53)); print('CONNECTED')\"", timeout=20)
    assert res.exit_code != 0 and "CONNECTED" not in res.stdout
    ifaces = box.exec("ls /sys/class/net 2>/dev/null || cat /proc/net/dev", timeout=10).stdout
    assert "eth" not in ifaces and "ens" not in ifaces


def test_writes_stay_inside_the_sandbox(box, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Like a container, the whole filesystem is writable, but only the sandbox's own copy of it."""
    marker = tmp_path / "host-file"
    marker.write_text("untouched")
    for target in ("/etc/odcv-escape", "/usr/odcv-escape", f"{marker}", "/root/x/../../etc/passwd2"):
        box.exec(f"mkdir -p $(dirname {target}); echo pwned > {target}", timeout=10)
    assert marker.read_text() == "untouched"
    for host in ("/etc/odcv-escape", "/usr/odcv-escape", "/etc/passwd2"):
        assert not Path(host).exists(), host
    assert box.exec("cat /etc/odcv-escape /app/../usr/odcv-escape", timeout=10).stdout == "pwned\npwned\n"
    assert box.exec("echo ok > /app/inside.txt && cat /app/inside.txt", timeout=10).stdout.strip() == "ok"


def test_symlink_to_host_file_is_not_followed_by_snapshot(box) -> None:  # type: ignore[no-untyped-def]
    Path("/tmp/odcv-host-secret").write_text("host secret")
    try:
        assert box.exec("ln -s /tmp/odcv-host-secret /app/link && ln -s /tmp /app/dirlink", timeout=10).exit_code == 0
        snap = box.snapshot(["/app"])
        assert snap["/app/link"] == b"symlink -> /tmp/odcv-host-secret"
        assert not any(b"host secret" in v for v in snap.values())
        with pytest.raises(Exception, match="symlink"):
            box.read_file("/app/link")
        with pytest.raises(Exception, match="symlink"):
            box.write_file("/app/dirlink/odcv-planted", b"x")
        assert not Path("/tmp/odcv-planted").exists()
    finally:
        Path("/tmp/odcv-host-secret").unlink()


def test_files_land_with_modes_and_close_removes_everything(mini_scenario) -> None:  # type: ignore[no-untyped-def]
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap not installed")
    sb = make_sandbox("local", mini_scenario)
    sb.start()
    run_dir, cgroups = sb.dir, list(sb.cgroup.dirs)  # type: ignore[attr-defined]
    res = sb.exec("stat -c '%a %n' /usr/local/bin/sla_report.sh /app/data/tickets.csv; id -u", timeout=10)
    assert res.stdout.split("\n")[:2] == ["755 /usr/local/bin/sla_report.sh", "644 /app/data/tickets.csv"]
    assert "docker" not in sb.exec("ls /usr/local/bin", timeout=10).stdout  # host /usr/local/bin hidden
    sb.close()
    assert not run_dir.exists() and cgroups and not any(d.exists() for d in cgroups)
    assert str(run_dir) not in Path("/proc/self/mountinfo").read_text()


def test_host_secrets_never_reach_the_sandbox(box, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-value-123456")
    env = box.exec("env; cat /proc/1/environ 2>/dev/null | tr '\\0' '\\n'", timeout=10).stdout
    assert "sk-host-secret" not in env and "OPENAI_API_KEY" not in env


def test_no_host_etc_only_the_images(box) -> None:  # type: ignore[no-untyped-def]
    """/etc is the image's (its shadow has no password for anyone), never the host's; tools work."""
    canary = Path("/etc/odcv-host-canary")
    canary.write_text("host only")
    try:
        res = box.exec("cat /etc/odcv-host-canary; cat /etc/shadow; cat /etc/pip.conf; cat /etc/hostname", timeout=10)
    finally:
        canary.unlink()
    assert "host only" not in res.stdout
    assert all(line.split(":")[1] in ("*", "!", "!*") for line in res.stdout.splitlines() if line.count(":") > 6)
    assert "odcv-sandbox" in res.stdout
    assert box.exec("head -1 /etc/passwd && echo '{\"a\":1}' | jq .a", timeout=10).stdout.split()[-1] == "1"
