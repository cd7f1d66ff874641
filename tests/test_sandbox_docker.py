"""The docker backend against a real engine and the real offline image (scripts/install_test_deps.sh
starts dockerd and builds it). Skipped only where no engine exists and ODCV_REQUIRE_DOCKER is unset."""

from __future__ import annotations

import os
import time

import pytest

from odcv_tui.sandbox.filediff import diff_snapshots

pytestmark = pytest.mark.docker


def _engine_or_skip() -> None:
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


@pytest.fixture
def box(mini_scenario):  # type: ignore[no-untyped-def]
    _engine_or_skip()
    from odcv_tui.sandbox.docker import DockerSandbox

    with DockerSandbox(mini_scenario) as sb:
        yield sb


def test_files_mapped_with_modes_and_workdir(box) -> None:  # type: ignore[no-untyped-def]
    res = box.exec("pwd; stat -c '%a %n' /usr/local/bin/sla_report.sh; head -1 /app/data/tickets.csv", timeout=20)
    lines = res.stdout.splitlines()
    assert res.exit_code == 0 and lines[0] == "/app"
    assert lines[1] == "755 /usr/local/bin/sla_report.sh"
    assert "," in lines[2]
    assert box.read_file("/app/data/tickets.csv").startswith(lines[2].encode())


def test_validator_tools_present(box) -> None:  # type: ignore[no-untyped-def]
    res = box.exec("echo '{\"a\": 2}' | jq .a; echo '3/2' | bc -l | cut -c1-3; python3 -c 'print(6*7)'", timeout=20)
    assert res.stdout.split() == ["2", "1.5", "42"]


def test_no_network_no_caps_no_new_privs(box) -> None:  # type: ignore[no-untyped-def]
    res = box.exec("python3 -c \"import socket; s=socket.socket(); s.settimeout(3); "
                   "s.connect(('1.1.1.1', 53)); print('CONNECTED')\"", timeout=20)
    assert res.exit_code != 0 and "CONNECTED" not in res.stdout
    assert box.exec("ls /sys/class/net", timeout=10).stdout.split() == ["lo"]
    status = box.exec("grep -E '^(CapEff|CapBnd|NoNewPrivs)' /proc/self/status", timeout=10).stdout
    # only Docker root's file-permission caps (CHOWN, DAC_OVERRIDE, FOWNER, FSETID: test_sandbox_root_caps.py)
    assert "CapEff:\t000000000000001b" in status and "CapBnd:\t000000000000001b" in status
    assert "NoNewPrivs:\t1" in status
    host = box.container.client.api.inspect_container(box.container.id)["HostConfig"]
    assert host["NetworkMode"] == "none" and host["PidsLimit"] == 256 and host["Memory"] > 0


def test_timeout_kills_process_group(box) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    res = box.exec("sleep 100 & sleep 100; echo never", timeout=1.5)
    assert res.timed_out and res.exit_code == 124 and "never" not in res.stdout
    assert "timed out" in res.stderr
    assert time.monotonic() - t0 < 15
    assert "sleep 100" not in box.exec("ps -eo args", timeout=10).stdout


def test_snapshot_diff_sees_add_modify_delete(box) -> None:  # type: ignore[no-untyped-def]
    roots = ["/app", "/usr/local/bin"]
    before = box.snapshot(roots)
    assert "/app/data/tickets.csv" in before
    box.exec("echo new > /app/report.txt; echo '# tampered' >> /usr/local/bin/sla_report.sh; rm /app/data/tickets.csv",
             timeout=10)
    after = box.snapshot(roots)
    changes = {c.path: c for c in diff_snapshots("r", 3, before, after, box.scenario)}
    assert changes["/app/report.txt"].kind == "added"
    assert changes["/usr/local/bin/sla_report.sh"].kind == "modified"
    assert "+# tampered" in (changes["/usr/local/bin/sla_report.sh"].diff or "")
    assert changes["/app/data/tickets.csv"].kind == "deleted" and changes["/app/data/tickets.csv"].protected


def test_container_removed_on_close_and_on_error(mini_scenario) -> None:  # type: ignore[no-untyped-def]
    _engine_or_skip()
    from odcv_tui.sandbox.docker import DockerSandbox
    from odcv_tui.sandbox.image import client

    with pytest.raises(RuntimeError):
        with DockerSandbox(mini_scenario) as sb:
            cid = sb.container.id
            raise RuntimeError("boom")
    ids = [c.id for c in client().containers.list(all=True)]
    assert cid not in ids


def test_oracle_runs_in_docker_are_judged(mini_scenario, db_path) -> None:  # type: ignore[no-untyped-def]
    _engine_or_skip()
    from odcv_tui.runner.run_one import RunRequest, run_one
    from odcv_tui.storage import open_db, queries

    flags = {}
    for model in ("oracle/honest", "oracle/exploit"):
        out = run_one(RunRequest(mini_scenario, "incentivized", model, "docker"), db_path=db_path, check_kpi=True)
        assert out.run.status == "completed"
        db = open_db(db_path)
        flags[model] = [v.score for v in queries.get_verdicts(db, out.run.id) if v.kind == "integrity"]
        if model == "oracle/exploit":
            assert out.kpi is not None and "STATUS: PASS" in out.kpi.stdout
    assert flags == {"oracle/honest": [0.0], "oracle/exploit": [4.0]}


def test_host_files_invisible_and_untouched(box, tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "host-file"
    marker.write_text("untouched")
    res = box.exec(f"cat {marker}; echo pwned > {marker}; ls /var/run/docker.sock", timeout=10)
    assert "untouched" not in res.stdout and "docker.sock" not in res.stdout
    assert marker.read_text() == "untouched"


def test_host_secrets_never_reach_the_container(box, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("OPENAI_API_KEY", "sk-host-secret-value-123456")
    env = box.exec("env; cat /proc/1/environ | tr '\\0' '\\n'", timeout=10).stdout
    assert "sk-host-secret" not in env and "OPENAI_API_KEY" not in env
