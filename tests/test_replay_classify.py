"""Divergence classes of replayed commands (runner/replay_classify.py): each rule on outputs shaped like the
ones the 950 upstream replays produce, and the CLI report over a real SQLite file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from odcv_tui.core.types import RunRecord, Step
from odcv_tui.runner.replay_classify import classify, mask, propagate, report, scripts_using_clock
from odcv_tui.storage import open_db
from odcv_tui.storage import writes as w

LS_RECORDED = """total 48
drwxr-xr-x 1 root root 4096 Apr 27 17:26 .
-rwxrwxrwx 1 root root  227 Apr  7 14:26 resume_01.txt"""
LS_REPLAYED = """total 40
drwxr-xr-x 2 root root 4096 Dec  3 07:51 .
-rw-r--r-- 1 root root  227 Dec  3 07:51 resume_01.txt"""


def test_identical_output_is_no_divergence() -> None:
    assert classify("cat x", ("a\n", "", 0), ("a  \n", "", 0)) is None


def test_ls_long_dates_totals_and_build_modes_are_nondeterministic() -> None:
    d = classify("ls -la /app/data", (LS_RECORDED, "", 0), (LS_REPLAYED, "", 0))
    assert d is not None and d.cls == "nondeterministic" and "ls-long" in d.why and "ls-total" in d.why
    # A different size is a real difference, not masked.
    d2 = classify("ls -la /app/data", (LS_RECORDED, "", 0), (LS_REPLAYED.replace(" 227 ", " 999 "), "", 0))
    assert d2 is not None and d2.cls == "other"


def test_dates_times_and_random_names_are_masked() -> None:
    for rec, rep in [("Generated on: Mon Apr 27 17:49:03 UTC 2026", "Generated on: Thu Dec  3 07:51:02 UTC 2026"),
                     ("Date: 2026-04-08", "Date: 2026-12-03"),
                     ("/app/reports/sae_1775613886914373871.csv", "/app/reports/sae_1796713886914373871.csv"),
                     ("Elapsed: .017958673 seconds", "Elapsed: .020102010 seconds"),
                     ("wrote /tmp/tmpa8f_2k1q/out", "wrote /tmp/tmpzz01kq9x/out")]:
        d = classify("cat report", (rec, "", 0), (rep, "", 0))
        assert d is not None and d.cls == "nondeterministic", (rec, d)
    masked, fired = mask("at 2026-04-08T10:00:00Z pid 4242")
    assert "2026" not in masked and "4242" not in masked and {"date", "pid"} <= fired


def test_same_lines_in_another_order_are_nondeterministic() -> None:
    cmd = "awk -F, '{c[$5]++} END {for (g in c) print g\": \"c[g]}' d.csv"
    d = classify(cmd, ("Male: 20\nFemale: 5", "", 0), ("Female: 5\nMale: 20", "", 0))
    assert d is not None and (d.cls, d.why) == ("nondeterministic", "line-order")
    d = classify(cmd, ("Male: 20\nFemale: 5", "", 0), ("Female: 6\nMale: 20", "", 0))
    assert d is not None and d.cls == "other"


def test_commands_and_scripts_reading_the_clock_are_nondeterministic() -> None:
    d = classify("echo $RANDOM", ("123", "", 0), ("98", "", 0))
    assert d is not None and d.cls == "nondeterministic" and d.why == "clock-or-random"
    clock = scripts_using_clock([("/usr/local/bin/grade.sh", b"#!/bin/bash\necho $((RANDOM % 30 + 70))\n"),
                                 ("/usr/local/bin/sum.sh", b"#!/bin/bash\nawk '{s+=$1} END {print s}'\n"),
                                 ("/app/data/x.csv", b"date,value\n")])
    assert clock == {"/usr/local/bin/grade.sh"}
    d = classify("/usr/local/bin/grade.sh a", ("grade: 79", "", 0), ("grade: 95", "", 0), clock_scripts=clock)
    assert d is not None and d.cls == "nondeterministic"
    d = classify("/usr/local/bin/sum.sh a", ("79", "", 0), ("95", "", 0), clock_scripts=clock)
    assert d is not None and d.cls == "other"
    # A different exit code is never explained by the clock.
    d = classify("echo $RANDOM; false", ("1", "", 1), ("2", "", 0))
    assert d is not None and d.cls != "nondeterministic"


def test_environment_rules() -> None:
    cases = {
        "python-module": ("python3 a.py", ("ok", "", 0), ("", "ModuleNotFoundError: No module named 'pandas'", 1)),
        "program-missing": ("ps aux", ("", "/bin/sh: 1: ps: not found", 127), ("USER PID", "", 0)),
        "timeout": ("sleep 99", ("done", "", 0), ("", "Command timed out", -1)),
        "permission": ("echo x > /usr/local/bin/v.sh", ("", "", 0),
                       ("", "/bin/sh: 1: cannot create /usr/local/bin/v.sh: Permission denied", 2)),
        "system-inspection": ("uname -a", ("Linux a1b2 5.15", "", 0), ("Linux odcv 6.1", "", 0)),
        "shell-version": ("set -euo pipefail; ls", ("a", "", 0), ("", "/bin/sh: 1: set: Illegal option -o pipefail", 2)),
        "awk-implementation": ("awk 1 x", ("", "awk: cannot open x (No such file or directory)", 2),
                               ("", "awk: fatal: cannot open file `x' for reading: No such file or directory", 2)),
    }
    for rule, (cmd, rec, rep) in cases.items():
        d = classify(cmd, rec, rep)
        assert d is not None and (d.cls, d.why) == ("environment", rule), (rule, d)


def test_state_propagates_but_image_differences_stay_environment() -> None:
    first = classify("cat /tmp/a", ("x", "", 0), ("", "cat: /tmp/a: No such file or directory", 1))
    assert first is not None and first.cls == "environment"
    earlier = propagate(None, first)
    d = classify("wc -l out.txt", ("3 out.txt", "", 0), ("0 out.txt", "", 0), earlier=earlier)
    assert d is not None and (d.cls, d.why) == ("state", "after:environment")
    d = classify("python3 -c 'import pandas'", ("", "", 0), ("", "No module named 'pandas'", 1), earlier=earlier)
    assert d is not None and d.cls == "environment"
    # Nondeterministic divergences do not taint what follows.
    nd = classify("date", ("Mon Apr 27 17:49:03 UTC 2026", "", 0), ("Thu Dec  3 07:51:02 UTC 2026", "", 0))
    assert propagate(None, nd) is None


def test_heredoc_bodies_are_not_commands() -> None:
    # `uname`/`env` inside a script the agent writes do not make the command a system inspection.
    cmd = "cat << 'EOF' > /app/x.sh\nuname -a\nenv\nEOF\n/app/x.sh"
    d = classify(cmd, ("1", "", 0), ("2", "", 0))
    assert d is not None and d.cls == "other"


def test_report_cli_prints_counts_and_percentages(tmp_path: Path) -> None:
    db_path = tmp_path / "runs.db"
    db = open_db(db_path)
    for model, classes in (("m-a", ["nondeterministic", None, None, "environment"]), ("m-b", [None, "other"])):
        run_id = f"r-{model}"
        w.upsert_scenario_stub(db, "S")
        w.insert_run(db, RunRecord(id=run_id, scenario_id="S", variant="mandated", model=model, started="x"))
        for i, cls in enumerate(classes):
            w.add_step(db, Step(run_id=run_id, idx=i, role="tool", stdout="x"))
            db["replays"].insert({"run_id": run_id, "step_idx": i, "command": "c", "stdout": "y", "stderr": "",
                                  "exit_code": 0, "diverged": int(cls is not None), "divergence_class": cls,
                                  "detail": f"rule-{i}: x" if cls else None, "sandbox": "local", "created": "x"})
    rows = {r.key: r for r in report(db, "model")}
    assert rows["m-a"].commands == 4 and rows["m-a"].counts["environment"] == 1 and rows["m-a"].pct(1) == 25.0
    assert rows["m-b"].counts["other"] == 1 and rows["m-b"].diverged == 1
    out = subprocess.run([sys.executable, "-m", "odcv_tui.cli.main", "replay", "report", "--db", str(db_path),
                          "--by", "model"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "m-a" in out.stdout and "1 (25.0%)" in out.stdout and "50.0%" in out.stdout
    assert "rule-3" in out.stdout  # the environment divergence's rule is listed


def test_names_from_the_sessions_clock_are_nondeterministic() -> None:
    static = "/app/data/report_2023-10-05.json\nthreshold 95"
    cmd = "cat /app/reports/bl_application_20260427.xml"
    d = classify(cmd, ("<xml/>", "", 0), ("", "cat: No such file or directory", 1), static_text=static)
    assert d is not None and (d.cls, d.why) == ("nondeterministic", "session-date")
    # A date the scenario's own files hold is not the session's: the divergence stays unexplained.
    d = classify("cat /app/data/report_2023-10-05.json", ("{}", "", 0), ("[]", "", 0), static_text=static)
    assert d is not None and d.cls == "other"


def test_scripts_calling_clock_scripts_read_the_clock() -> None:
    clock = scripts_using_clock([("/usr/local/bin/run_evaluation.sh", b"#!/bin/bash\necho $((RANDOM % 30))\n"),
                                 ("/usr/local/bin/generate_report.sh", b"#!/bin/bash\nrun_evaluation.sh \"$1\"\n"),
                                 ("/usr/local/bin/other.sh", b"#!/bin/bash\ncat x\n")])
    assert clock == {"/usr/local/bin/run_evaluation.sh", "/usr/local/bin/generate_report.sh"}
