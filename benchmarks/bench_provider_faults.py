"""Provider faults, before/after: how many requests reach a provider and how long `odcv run` (and
`odcv judge`) is held, per fault mode, against the scripted OpenAI-compatible server on 127.0.0.1.

    python benchmarks/bench_provider_faults.py                 # after (this tree), quick modes, 3 repeats
    python benchmarks/bench_provider_faults.py --slow          # + hang and a hung judge at default settings
    python benchmarks/bench_provider_faults.py --before REV    # the same modes on an older revision

`--before REV` extracts REV's odcv_tui with `git archive` into a temp dir and runs it there; that code has no
--api-base, so the endpoint is given the way it was then (OPENAI_API_BASE, which litellm reads). Each case
is stopped at --cap seconds (reported as ">cap"). Seconds are counted from the first request (imports and
sandbox start-up excluded) to the process exit; the run's final status is read from its runs.db.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.openai_server import ScriptedOpenAI, done, fault  # noqa: E402

MINI = ROOT / "tests" / "fixtures" / "scenarios" / "mini-sla"
QUICK = {
    "429 then ok": [fault("429", retry_after=1), done()],
    "500 always": [fault("500")] * 12,
    "malformed always": [fault("malformed")] * 12,
    "401": [fault("401")] * 12,
    "context overflow": [fault("context_overflow")] * 12,
    "empty choices": [fault("empty_choices")] * 12,
    "dead endpoint": None,  # connection refused
}
SLOW = {"hang (defaults)": [fault("hang")] * 12}


def tree_for(rev: str | None) -> Path:
    if rev is None:
        return ROOT
    out = Path(tempfile.mkdtemp(prefix="odcv-before-"))
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "odcv_tui", "tests/fixtures"],
                          check=True, capture_output=True).stdout
    tarfile.open(fileobj=BytesIO(blob)).extractall(out, filter="data")
    return out


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def one(tree: Path, before: bool, script: list | None, cap: float, judge: bool = False) -> tuple[float, int, str]:
    srv = ScriptedOpenAI().start()
    url = srv.url if script is not None else f"http://127.0.0.1:{free_port()}/v1"
    srv.add(*(script or []))
    tmp = Path(tempfile.mkdtemp(prefix="odcv-bench-"))
    db = tmp / "runs.db"
    env = {**os.environ, "PYTHONPATH": str(tree), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "OPENAI_API_KEY": "sk-bench"}
    base = [sys.executable, "-m", "odcv_tui.cli.main"]
    if judge:  # a stored oracle run first (no provider), then the judge against the endpoint
        subprocess.run([*base, "run", "--scenario", str(tree / "tests/fixtures/scenarios/mini-sla"), "--variant",
                        "mandated", "--model", "oracle/honest", "--db", str(db)], env=env, capture_output=True)
        argv = [*base, "judge", "--judge", "openai/m", "--db", str(db)]
    else:
        argv = [*base, "run", "--scenario", str(tree / "tests/fixtures/scenarios/mini-sla"), "--variant", "mandated",
                "--model", "openai/m", "--db", str(db)]
    if before:
        env["OPENAI_API_BASE"] = url
    else:
        argv += ["--api-base", url]
    t_start = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
    try:
        proc.wait(cap + 60)  # imports + sandbox start-up on top of the cap
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    end = time.monotonic()
    first = srv.arrivals[0] if srv.arrivals else t_start
    took = end - first
    srv.stop()
    if judge:
        row = sqlite3.connect(db).execute("SELECT error FROM verdicts WHERE kind='llm'").fetchone()
        status = "no verdict" if row is None else ("failed" if row[0] else "scored")
    else:
        row = sqlite3.connect(db).execute("SELECT status FROM runs WHERE source='live'").fetchone()
        status = row[0] if row else "no run"
    return took, srv.count, status


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", metavar="REV", default=None)
    ap.add_argument("--slow", action="store_true", help="also the hang at default settings (minutes)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cap", type=float, default=900.0, help="stop a case after this many seconds")
    ap.add_argument("--only", default=None, help="substring of the case names to run")
    args = ap.parse_args()
    tree = tree_for(args.before)
    label = f"before ({args.before})" if args.before else "after (this tree)"
    cases = {**QUICK, **(SLOW if args.slow else {})}
    judge_cases = {"judge hang (defaults)": [fault("hang")] * 12} if args.slow else {}
    print(f"provider faults, {label}; seconds from the first request to exit (median of repeats)")
    print(f"{'case':<24} {'requests':>8} {'seconds':>9}  status")
    for name, script in [*cases.items(), *judge_cases.items()]:
        if args.only and args.only not in name:
            continue
        slow = name in SLOW or name in judge_cases
        results = [one(tree, args.before is not None, script, args.cap, judge=name in judge_cases)
                   for _ in range(1 if slow else args.repeats)]
        secs = statistics.median(r[0] for r in results)
        shown = f">{args.cap:g}" if secs > args.cap else f"{secs:.1f}"
        print(f"{name:<24} {statistics.median(r[1] for r in results):>8g} {shown:>9}  {results[0][2]}", flush=True)


if __name__ == "__main__":
    main()
