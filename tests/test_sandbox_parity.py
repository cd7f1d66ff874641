"""Both backends, same world: a container-like filesystem that persists for the run, the same userland, the
same exec semantics, and per-step file changes anywhere on the filesystem. Plus the #13.3 attacks on the
evidence (each failed on the old backends: docker's size+mtime cache and find -printf parsing, local's
roots-only snapshot and UTF-8 assumptions, processes outliving their command)."""

from __future__ import annotations

import os
import resource
import shutil
import time

import pytest

from odcv_tui.sandbox.factory import make_sandbox

BACKENDS = ["local", "docker"]


def _available(kind: str) -> None:
    require = os.environ.get("ODCV_REQUIRE_BWRAP" if kind == "local" else "ODCV_REQUIRE_DOCKER")
    why = None
    if kind == "local":
        from odcv_tui.sandbox import rootfs

        if shutil.which("bwrap") is None:
            why = "bubblewrap not installed"
        elif not rootfs.is_built(rootfs.tree_dir()):
            why = "rootfs not built (odcv sandbox build --offline)"
        elif os.geteuid() != 0:
            why = "the local sandbox needs root"
    else:
        try:
            from odcv_tui.sandbox.image import image_status

            why = None if image_status() is not None else "sandbox image not built"
        except Exception as exc:  # noqa: BLE001 - no engine reachable
            why = f"no docker engine: {exc}"
    if why:
        if require:
            pytest.fail(f"{kind} sandbox required: {why}")
        pytest.skip(why)


@pytest.fixture(params=BACKENDS)
def box(request, mini_scenario):  # type: ignore[no-untyped-def]
    _available(request.param)
    with make_sandbox(request.param, mini_scenario) as sb:
        yield sb


def _step(sb, state, command: str, idx: int = 1):  # type: ignore[no-untyped-def]
    res = sb.exec(command, timeout=20)
    changes, state = sb.changes_since(state, "r", idx, sb.scenario)
    return res, {c.path: c for c in changes}, state


def test_writes_anywhere_persist_and_show_in_changes(box) -> None:  # type: ignore[no-untyped-def]
    state = box.file_state()
    res, changes, state = _step(box, state, "echo t > /tmp/x; mkdir -p /opt/w; echo o > /opt/w/f; echo r > /root/r")
    assert res.exit_code == 0, res.stderr
    assert {"/tmp/x", "/opt/w/f", "/root/r"} <= set(changes)
    assert all(changes[p].kind == "added" for p in ("/tmp/x", "/opt/w/f", "/root/r"))
    assert "+o" in (changes["/opt/w/f"].diff or "")
    res, changes, state = _step(box, state, "cat /tmp/x /opt/w/f /root/r; rm /tmp/x; echo more >> /root/r", 2)
    assert res.stdout == "t\no\nr\n"
    assert changes["/tmp/x"].kind == "deleted" and changes["/root/r"].kind == "modified"
    assert "+more" in (changes["/root/r"].diff or "") and set(changes) == {"/tmp/x", "/root/r"}


def test_scenario_files_and_protected_paths(box) -> None:  # type: ignore[no-untyped-def]
    state = box.file_state()
    res, changes, _ = _step(box, state, "echo x >> /app/data/tickets.csv; rm /usr/local/bin/sla_report.sh; "
                                        "echo '#' >> /etc/passwd")
    assert res.exit_code == 0
    assert changes["/app/data/tickets.csv"].protected and changes["/app/data/tickets.csv"].kind == "modified"
    assert changes["/usr/local/bin/sla_report.sh"].kind == "deleted"
    assert changes["/etc/passwd"].kind == "modified" and not changes["/etc/passwd"].protected


def test_same_userland_in_both_backends(mini_scenario) -> None:  # type: ignore[no-untyped-def]
    outputs = []
    cmd = ("python3 --version; python --version; jq --version; ls /usr/bin | wc -l; cat /etc/debian_version; "
           "python3 -c 'import pandas, flask; print(pandas.__version__)'; pip --version | cut -d' ' -f1-2; "
           "echo '2/3' | bc -l")
    for kind in BACKENDS:
        _available(kind)
        with make_sandbox(kind, mini_scenario) as sb:
            res = sb.exec(cmd, timeout=60)
            assert res.exit_code == 0, (kind, res.stderr)
            outputs.append(res.stdout)
            assert sb.image_id.startswith("sha256:")
    assert outputs[0] == outputs[1]


def test_shell_sh_and_huge_commands(box) -> None:  # type: ignore[no-untyped-def]
    assert box.exec('[ -n "$BASH_VERSION" ] && echo bash || echo sh', timeout=10, shell="sh").stdout == "sh\n"
    assert box.exec('[ -n "$BASH_VERSION" ] && echo bash || echo sh', timeout=10).stdout == "bash\n"
    body = "x" * 99 + "\n"
    cmd = "cat > /tmp/big <<'EOF'\n" + body * 3000 + "EOF\nwc -c < /tmp/big"  # 300 kB: beyond one argv string
    res = box.exec(cmd, timeout=30)
    assert res.exit_code == 0 and res.stdout.strip() == "300000", res.stderr[-300:]


def test_output_is_capped_while_read(box) -> None:  # type: ignore[no-untyped-def]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = box.exec("yes | head -c 200000000; echo done >&2", timeout=60)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert res.truncated and res.exit_code == 0 and "done" in res.stderr
    assert len(res.stdout) < 3_000_000 and "bytes of output omitted" in res.stdout
    assert grown_mb < 100, grown_mb


def test_timeout_kills_the_whole_tree(box) -> None:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    res = box.exec("sleep 100 & sleep 100; echo never", timeout=1.5)
    assert res.timed_out and res.exit_code == 124 and "never" not in res.stdout and "timed out" in res.stderr
    assert time.monotonic() - t0 < 10
    assert "sleep" not in box.exec("ps -eo comm", timeout=10).stdout


def test_detached_process_cannot_edit_after_its_command(box) -> None:  # type: ignore[no-untyped-def]
    """#13.3: a setsid'd / nohup'd background process used to outlive the command (docker) and tamper later."""
    state = box.file_state()
    res, _, state = _step(box, state, "setsid sh -c 'sleep 1; echo tampered >> /app/data/tickets.csv' "
                                      ">/dev/null 2>&1 < /dev/null & nohup sh -c 'sleep 1; touch /tmp/late' "
                                      ">/dev/null 2>&1 & echo started")
    assert res.stdout == "started\n"
    time.sleep(2)
    res, changes, _ = _step(box, state, "grep -c tampered /app/data/tickets.csv; ls /tmp/late; ps -eo comm", 2)
    assert res.stdout.startswith("0\n") and "sleep" not in res.stdout and not changes


def test_same_size_edit_with_reset_mtime_is_caught(box) -> None:  # type: ignore[no-untyped-def]
    """#13.3: docker's size+mtime cache missed this edit while the KPI check read the tampered value."""
    state = box.file_state()
    _, _, state = _step(box, state, "cat /app/data/tickets.csv > /dev/null")
    res, changes, _ = _step(box, state, "f=/app/data/tickets.csv; m=$(stat -c %Y $f); s=$(stat -c %s $f); "
                                        "sed -i '2s/[0-9]/9/' $f; touch -d @$m $f; test $s = $(stat -c %s $f) && echo same",
                            2)
    assert res.stdout == "same\n"
    assert changes["/app/data/tickets.csv"].kind == "modified" and changes["/app/data/tickets.csv"].protected


def test_hostile_names_are_recorded_faithfully(box, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """#13.3: invalid UTF-8 (local) and a newline (docker) ended the run as error; a crafted name could
    inject fake entries into docker's `find -printf` listing."""
    from odcv_tui.storage import open_db
    from odcv_tui.storage import writes as w

    state = box.file_state()
    res, changes, _ = _step(box, state, "cd /app && d=\"$(printf 'nl\\nf\\t1\\t0\\t')\" && mkdir -p \"$d/etc\" && "
                                        "printf a > \"$d/etc/passwd\" && printf b > $'bad\\xff' && "
                                        "printf c > 'back\\slash' && printf d > $'esc\\e[2J'")
    assert res.exit_code == 0, res.stderr
    assert set(changes) == {"/app/nl\\nf\\t1\\t0\\t/etc/passwd", "/app/bad\\xff", "/app/back\\\\slash",
                            "/app/esc\\x1b[2J"}
    db = open_db(tmp_path / "runs.db")
    w.add_file_changes(db, list(changes.values()))
    assert db.execute("SELECT count(*) FROM file_changes").fetchone()[0] == 4


def test_dir_symlinks_and_unreadable_dirs(box) -> None:  # type: ignore[no-untyped-def]
    """#13.3: local ignored symlinks to directories; docker showed files under a chmod 000 dir as deleted."""
    state = box.file_state()
    res, changes, state = _step(box, state, "ln -s /etc /app/etclink; chmod 000 /app/data")
    assert res.exit_code == 0
    assert changes["/app/etclink"].kind == "added" and "symlink -> /etc" in (changes["/app/etclink"].diff or "")
    assert "/app/data/tickets.csv" not in changes
    res, changes, _ = _step(box, state, "true", 2)
    assert not changes


def test_killing_the_exec_server_does_not_end_the_run(box) -> None:  # type: ignore[no-untyped-def]
    assert box.exec("echo kept > /opt/state", timeout=10).exit_code == 0
    res = box.exec("kill -9 -1", timeout=10)
    assert res.exit_code != 0
    assert box.exec("cat /opt/state", timeout=10).stdout == "kept\n"


def test_removed_and_recreated_image_dirs(box) -> None:  # type: ignore[no-untyped-def]
    """Deleting a directory of the image records each file it held; recreating it (an opaque dir) too."""
    before = box.exec("find /etc/apt -type f | sort", timeout=10).stdout.split()
    assert before
    state = box.file_state()
    res, changes, state = _step(box, state, "rm -rf /etc/apt && mkdir /etc/apt && echo x > /etc/apt/new")
    assert res.exit_code == 0
    assert changes["/etc/apt/new"].kind == "added"
    assert {p for p, c in changes.items() if c.kind == "deleted"} == set(before)
    res, changes, _ = _step(box, state, "rm -rf /etc/apt", 2)
    assert set(changes) == {"/etc/apt/new"} and changes["/etc/apt/new"].kind == "deleted"
