"""Sandbox overheads per backend (medians), next to mini-swe-agent's DockerEnvironment on the same image in
the same run (a plain `docker exec` per command when mini-swe-agent is not installed).

    python benchmarks/bench_sandbox.py [--sandbox local|docker|both] [--n 30] [--heavy]

Rows: start+close; exec(`true`); one step's file changes (changes_since) on the scenario as installed; the
same after the agent wrote 10k files, and on a scenario that installs 10k files (one file changed per step);
the old snapshot(roots) for reference.
--heavy adds #13.2's hostile cases, each in a fresh process so its peak RSS is its own: `yes | head -c 1G`,
960 MB written as 8 MB files, 200k small files (time of the step that records them).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from odcv_tui.sandbox.factory import make_sandbox  # noqa: E402
from odcv_tui.scenarios import load_scenario  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "scenarios" / "mini-sla"
IMAGE = "odcv-sandbox:latest"


def ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:8.2f} ms"


def timed(fn, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def big_scenario(tmp: Path):  # type: ignore[no-untyped-def]
    """The fixture scenario plus 10k installed data files (a big scenario tree)."""
    from odcv_tui.core.scenario import FileMapping

    sc = load_scenario(FIXTURE)
    files = tmp / "files"
    shutil.copytree(FIXTURE / "files", files)
    (files / "many").mkdir()
    extra = []
    for i in range(10_000):
        (files / "many" / f"f{i}").write_text(f"{i}\n")
        extra.append(FileMapping(src=f"many/f{i}", dest=f"/app/many/f{i}"))
    return sc.model_copy(update={"files": [*sc.files, *extra], "base_dir": str(tmp)})


def bench_big_scenario(kind: str, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sc = big_scenario(Path(tmp))
        with make_sandbox(kind, sc) as sb:
            state = sb.file_state()
            steps = []
            for i in range(max(3, n // 3)):
                sb.exec(f"echo {i} >> /app/many/f{i}", timeout=10)
                t = time.perf_counter()
                _, state = sb.changes_since(state, "bench", i)
                steps.append(time.perf_counter() - t)
    print(f"{kind:7} scenario installing 10k files: step changes {ms(steps)}")


def bench(kind: str, n: int) -> None:
    sc = load_scenario(FIXTURE)

    def lifecycle() -> None:
        with make_sandbox(kind, sc):
            pass

    life = timed(lifecycle, max(3, n // 5))
    with make_sandbox(kind, sc) as sb:
        execs = timed(lambda: sb.exec("true", timeout=10), n)
        state = sb.file_state()
        steps = []
        for i in range(n):
            sb.exec(f"echo {i} >> /app/report.txt", timeout=10)
            t = time.perf_counter()
            _, state = sb.changes_since(state, "bench", i)
            steps.append(time.perf_counter() - t)
        snaps = timed(lambda: sb.snapshot(sc.roots), max(3, n // 3))
        sb.exec("mkdir -p /app/many && cd /app/many && for i in $(seq 1 10000); do echo $i > f$i; done", timeout=120)
        t = time.perf_counter()
        _, state = sb.changes_since(state, "bench", 0)
        first = time.perf_counter() - t
        big = []
        for i in range(max(3, n // 3)):
            sb.exec(f"echo {i} >> /app/many/f1", timeout=10)
            t = time.perf_counter()
            _, state = sb.changes_since(state, "bench", i)
            big.append(time.perf_counter() - t)
    print(f"{kind:7} start+close {ms(life)}  exec(true) {ms(execs)}  step changes {ms(steps)}  "
          f"agent wrote 10k files: step {ms(big)} (the step writing them {first * 1000:.0f} ms)  "
          f"old snapshot(roots) {ms(snaps)}")


def bench_peer(n: int) -> None:
    """The same `true` through mini-swe-agent's DockerEnvironment (or plain docker exec), same image."""
    try:
        from minisweagent.environments.docker import DockerEnvironment
    except ImportError:
        DockerEnvironment = None  # noqa: N806
    if DockerEnvironment is not None:
        env = DockerEnvironment(image=IMAGE, run_args=["--rm", "--network", "none"])
        try:
            xs = timed(lambda: env.execute({"command": "true"}), n)
        finally:
            env.cleanup()
        print(f"{'peer':7} mini-swe-agent DockerEnvironment.execute(true) {ms(xs)}")
    cid = subprocess.run(["docker", "run", "-d", "--rm", "--network", "none", IMAGE, "sleep", "600"],
                         capture_output=True, text=True, check=True).stdout.strip()
    try:
        xs = timed(lambda: subprocess.run(["docker", "exec", cid, "true"], check=True), n)
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
    print(f"{'peer':7} plain `docker exec CID true` {ms(xs)}")


def bench_interleaved(n: int) -> None:
    """exec(`true`) in both backends and the peer, call after call in one loop: all three see the same load
    (this box is shared; a separate run per backend can land on a busier moment)."""
    sc = load_scenario(FIXTURE)
    try:
        from minisweagent.environments.docker import DockerEnvironment
        peer = DockerEnvironment(image=IMAGE, run_args=["--rm", "--network", "none"])
        run_peer = lambda: peer.execute({"command": "true"})  # noqa: E731
    except ImportError:
        peer, run_peer = None, None
    times: dict[str, list[float]] = {"local": [], "docker": [], "peer": []}
    with make_sandbox("local", sc) as lo, make_sandbox("docker", sc) as do:
        calls = [("local", lambda: lo.exec("true", timeout=10)), ("docker", lambda: do.exec("true", timeout=10))]
        if run_peer is not None:
            calls.append(("peer", run_peer))
        for _ in range(n):
            for name, fn in calls:
                t = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t)
    if peer is not None:
        peer.cleanup()
    print("interleaved exec(true): " + "  ".join(f"{k} {ms(v)}" for k, v in times.items() if v)
          + ("  (peer = mini-swe-agent DockerEnvironment)" if times["peer"] else ""))


HEAVY = {
    "output-1G": ("yes | head -c 1000000000", None),
    "960MB-in-8MB-files": ("mkdir -p /app/big && for i in $(seq 1 120); do head -c 8000000 /dev/urandom > /app/big/f$i; "
                           "done", None),
    "200k-small-files": ("mkdir -p /app/s && cd /app/s && python3 -c \"[open(f'f{i}','w').write(str(i)) "
                         "for i in range(200000)]\"", None),
}


def heavy_case(kind: str, case: str) -> None:
    """One hostile case in this (fresh) process: print its step time and our peak RSS as JSON."""
    sc = load_scenario(FIXTURE)
    command, _ = HEAVY[case]
    with make_sandbox(kind, sc) as sb:
        state = sb.file_state()
        t = time.perf_counter()
        res = sb.exec(command, timeout=600)
        exec_s = time.perf_counter() - t
        t = time.perf_counter()
        changes, state = sb.changes_since(state, "bench", 1)
        step_s = time.perf_counter() - t
        t = time.perf_counter()
        sb.exec("true", timeout=60)
        _, state = sb.changes_since(state, "bench", 2)
        next_s = time.perf_counter() - t
    print(json.dumps({"exec_s": exec_s, "step_s": step_s, "next_step_s": next_s, "changes": len(changes),
                      "stdout_len": len(res.stdout), "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def heavy(kind: str) -> None:
    for case in HEAVY:
        proc = subprocess.run([sys.executable, __file__, "--sandbox", kind, "--heavy-case", case],
                              capture_output=True, text=True)
        try:
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            print(f"{kind:7} {case}: failed: {proc.stderr.strip()[-300:]}")
            continue
        print(f"{kind:7} {case:20} command {r['exec_s']:6.1f} s  recording step {r['step_s']:6.2f} s "
              f"({r['changes']} rows)  next step {r['next_step_s'] * 1000:6.1f} ms  odcv peak RSS {r['rss_mb']:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", choices=["local", "docker", "both"], default="both")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--heavy", action="store_true", help="add the #13.2 hostile cases (minutes)")
    ap.add_argument("--heavy-case", choices=list(HEAVY), help=argparse.SUPPRESS)
    args = ap.parse_args()
    kinds = ["local", "docker"] if args.sandbox == "both" else [args.sandbox]
    if args.heavy_case:
        heavy_case(kinds[0], args.heavy_case)
        return
    print("medians; targets: local exec(true) <= 3 ms, docker <= 10 ms, step changes <= 10 ms, O(changed)")
    for kind in kinds:
        bench(kind, args.n)
        bench_big_scenario(kind, args.n)
    if "docker" in kinds:
        bench_peer(args.n)
    if args.sandbox == "both":
        bench_interleaved(args.n)
    if args.heavy:
        for kind in kinds:
            heavy(kind)


if __name__ == "__main__":
    main()
