"""Import time of the upstream corpus, integrity inference included (what `odcv import upstream` does): a fresh DB
and a re-import, median of N; optionally a synthetic corpus of N runs in the same layout.

    python benchmarks/bench_import.py [--src ../shared/upstream-odcv] [--repeat 5] [--workers 2]
    python benchmarks/bench_import.py --synthetic 100000 [--steps 20] [--repeat 1]

Wall time is what a user waits; CPU seconds (this process and its workers) are printed too because the box is
shared and wall time under someone else's load says little about the importer. `odcv stats` timings live in
benchmarks/bench_stats.py.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from odcv_tui.importers.upstream import import_upstream
from odcv_tui.storage import open_db

DEFAULT_SRC = Path(__file__).resolve().parents[2] / "shared" / "upstream-odcv"
MODELS = 12


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def host_speed() -> float:
    """Milliseconds for a fixed pure-Python loop (median of 5). This box's speed drifts by ~30% within a day (the
    same import took 2.1 s and 2.6 s hours apart): figures from different runs compare only next to this."""
    times = []
    for _ in range(5):
        t, acc = time.perf_counter(), 0
        for i in range(1_000_000):
            acc += i * i
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def synth_corpus(root: Path, n: int, steps: int) -> Path:
    """n trajectories in the upstream layout (12 models x 2 variants x n/24 scenarios), each `steps` steps: system,
    user, then bash call / tool output pairs, and a scores CSV per judge. Reused if already built."""
    marker = root / f".built-{n}-{steps}"
    if marker.exists():
        return root
    variants = ("mandated", "incentivized")
    n_sc = max(1, n // (MODELS * 2))
    words = ["validator", "threshold", "report", "ledger", "compliance", "audit", "patient", "shipment", "grade"]
    cols = [f"model-{m}-{v}" for m in range(MODELS) for v in variants]
    for m in range(MODELS):
        for v in variants:
            for s in range(n_sc):
                d = root / "agent_logs" / f"model-{m}-{v}" / "experiments" / f"Scenario-{s:05d}"
                d.mkdir(parents=True, exist_ok=True)
                out = [f"== Step 1 ==\nrole: system\ncontent: You run scenario {s}; the KPI is checked by "
                       "/usr/local/bin/validate_records.sh\n",
                       "== Step 2 ==\nrole: user\ncontent: Reach 95% on the validator.\n"]
                for k in range(3, steps + 1):
                    w = words[(s + k) % len(words)]
                    if k % 2:
                        args = json.dumps({"command": f"cat /app/data/{w}{k}.csv && /usr/local/bin/validate_records.sh"})
                        call = [{"id": f"c{k}", "type": "function", "function": {"name": "bash", "arguments": args}}]
                        out.append(f"== Step {k} ==\nrole: assistant\ncontent: checking the {w} file\n"
                                   f"reason: No explanation\ncall: {call!r}\n")
                    else:
                        body = json.dumps({"stdout": f"row {k} {w} value {s % 97}\nPASS {80 + k % 20}%", "stderr": "",
                                           "role": "tool", "returncode": 0})
                        out.append(f"== Step {k} ==\nrole: tool\ncontent: {body}\n")
                (d / "messages_record.txt").write_text("\n".join(out), encoding="utf-8")
    judges = root / "evaluations" / "judge_all"
    judges.mkdir(parents=True, exist_ok=True)
    for j, name in enumerate(("claude47", "gpt55", "gemini")):
        lines = ["scenario," + ",".join(cols)]
        lines += [f"Scenario-{s:05d}," + ",".join(str((s + j + c) % 6) for c in range(len(cols))) for s in range(n_sc)]
        (judges / f"scores_{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    marker.touch()
    return root


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--synthetic", type=int, default=0, help="import a synthetic corpus of this many runs instead")
    ap.add_argument("--steps", type=int, default=20, help="steps per synthetic run")
    ap.add_argument("--synth-dir", type=Path, default=Path(tempfile.gettempdir()) / "odcv-synth-corpus")
    args = ap.parse_args()
    src = args.src
    if args.synthetic:
        t = time.perf_counter()
        src = synth_corpus(args.synth_dir / f"{args.synthetic}x{args.steps}", args.synthetic, args.steps)
        print(f"synthetic corpus in {src} ({time.perf_counter() - t:.1f} s to build or reuse)")
    elif not (src / "agent_logs").is_dir():
        sys.exit(f"bench_import: {src}: no agent_logs/ (pass --src)")
    fresh, again, cpu_fresh = [], [], []
    last = [0.0]

    def progress(phase: str, done: int, total: int) -> None:
        if args.synthetic and time.perf_counter() - last[0] > 5:
            last[0] = time.perf_counter()
            print(f"  {phase} {done}/{total}", flush=True)

    speed = [host_speed()]
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            path = Path(tmp) / f"b{i}.db"
            db = open_db(path)
            c, t = _cpu(), time.perf_counter()
            s = import_upstream(db, src, integrity=True, workers=args.workers, progress=progress)
            fresh.append(time.perf_counter() - t)
            cpu_fresh.append(_cpu() - c)
            if not args.synthetic:
                t = time.perf_counter()
                import_upstream(db, src, integrity=True, workers=args.workers)
                again.append(time.perf_counter() - t)
            db.conn.close()
            path.unlink()
    print(f"corpus: {s.runs} runs, {s.steps} steps, {s.verdicts} verdicts + {s.integrity} integrity verdicts; "
          f"workers={args.workers}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"host speed {speed[0]:.0f} ms before, {host_speed():.0f} ms after (fixed loop, lower is faster)")
    rows = [("import (fresh db)", fresh), ("  CPU s (all processes)", cpu_fresh)]
    if again:
        rows.append(("re-import (idempotent)", again))
    for name, xs in rows:
        print(f"{name:28s} median {statistics.median(xs):6.2f} s  (n={len(xs)}: {', '.join(f'{x:.2f}' for x in xs)})")


if __name__ == "__main__":
    main()
