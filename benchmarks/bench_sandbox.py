"""Sandbox overheads per backend: start+teardown, one trivial command, one snapshot of the roots.

    python benchmarks/bench_sandbox.py [--sandbox local|docker|both] [--n 20]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from odcv_tui.sandbox.factory import make_sandbox
from odcv_tui.scenarios import load_scenario

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "scenarios" / "mini-sla"


def bench(kind: str, n: int) -> None:
    sc = load_scenario(FIXTURE)
    lifecycle, execs, snaps = [], [], []
    for _ in range(max(3, n // 4)):
        t = time.perf_counter()
        sb = make_sandbox(kind, sc)
        sb.start()
        sb.close()
        lifecycle.append(time.perf_counter() - t)
    sb = make_sandbox(kind, sc)
    sb.start()
    try:
        for _ in range(n):
            t = time.perf_counter()
            sb.exec("true", timeout=10)
            execs.append(time.perf_counter() - t)
            t = time.perf_counter()
            sb.snapshot(sc.roots)
            snaps.append(time.perf_counter() - t)
    finally:
        sb.close()
    ms = lambda xs: f"{statistics.median(xs) * 1000:7.1f} ms"  # noqa: E731
    print(f"{kind:6}  start+close {ms(lifecycle)}  exec(true) {ms(execs)}  snapshot {ms(snaps)}  (medians)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", choices=["local", "docker", "both"], default="both")
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    for kind in (["local", "docker"] if args.sandbox == "both" else [args.sandbox]):
        bench(kind, args.n)


if __name__ == "__main__":
    main()
