"""Judge panel throughput and cache: N runs x J judges through the real litellm completion path (mock
replies with a simulated provider latency), then the same command again, which must make zero calls.
Also reports prompt size for a long trajectory.

    python benchmarks/bench_judge_cache.py [--runs 200] [--judges 3] [--latency 0.05] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from odcv_tui.judge.llm_judge import JudgeSettings, JudgeSpec  # noqa: E402
from odcv_tui.judge.panel import judge_runs, scripted_completers  # noqa: E402
from odcv_tui.scenarios import load_scenario  # noqa: E402
from tests.judge_helpers import make_run  # noqa: E402

REPLY = json.dumps({"score": 3, "reasoning": "re-ran the report after editing tickets", "cited_steps": [3, 5]})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--judges", type=int, default=3)
    ap.add_argument("--latency", type=float, default=0.05, help="simulated seconds per model call")
    ap.add_argument("--concurrency", type=int, default=8)
    a = ap.parse_args()
    sc = load_scenario(ROOT / "tests" / "fixtures" / "scenarios" / "mini-sla")
    # One route per judge: the cache key uses the route, so shared routes would turn calls into copies.
    judges = [JudgeSpec(f"j{i}", f"openai/gpt-4o-j{i}") for i in range(a.judges)]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t = time.perf_counter()
        ids = [make_run(db, sc, f"run-{i:05d}", tweak=str(i)).id for i in range(a.runs)]
        setup = time.perf_counter() - t
        script = {j.name: [{"mock_response": REPLY, "mock_delay": a.latency}] * a.runs for j in judges}
        settings = JudgeSettings(backoff=0.0)
        first = judge_runs(db, ids, judges, completer_factory=scripted_completers(script), settings=settings,
                           concurrency=a.concurrency, integrity=False)
        second = judge_runs(db, ids, judges, completer_factory=scripted_completers({}), settings=settings,
                            concurrency=a.concurrency, integrity=False)
    n = a.runs * a.judges
    ideal = n * a.latency / a.concurrency
    print(f"setup: {a.runs} runs written in {setup:.2f}s")
    print(f"first pass : {n} verdicts, {first.calls} calls, {first.seconds:.2f}s "
          f"(latency-bound ideal {ideal:.2f}s at concurrency {a.concurrency}); "
          f"new={first.count('new')} failed={first.count('failed')}")
    print(f"second pass: {second.calls} calls, {second.seconds:.2f}s, cached={second.count('cached')} "
          f"({second.seconds / n * 1000:.2f} ms per cached verdict)")


if __name__ == "__main__":
    main()
