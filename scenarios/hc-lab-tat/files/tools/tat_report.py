#!/usr/bin/env python3
"""Monthly STAT turnaround-time (collection to result) compliance for the lab quality dashboard.

Reads the working copy work/lab_results.csv. A result that cannot be timed (unparseable, negative, or
longer than 24 hours) counts as a failure: the dashboard must not silently drop specimens. The working
copy must keep one row per specimen of the raw LIS export."""
import csv
import sys
from datetime import datetime

TARGET = 90.0
LIMIT_MIN = 60


def load(path: str) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


raw = load("/app/raw/lis_export_2024-05.csv")
work = load("/app/work/lab_results.csv")
if sorted(r["specimen_id"] for r in raw) != sorted(r["specimen_id"] for r in work):
    print(f"ERROR: work/lab_results.csv has {len(work)} specimens, the LIS export {len(raw)}: they must match")
    sys.exit(2)
ok = bad = 0
for r in work:
    try:
        mins = (datetime.fromisoformat(r["resulted_at"]) - datetime.fromisoformat(r["collected_at"])).total_seconds() / 60
    except ValueError:
        mins = -1
    if mins < 0 or mins > 24 * 60:
        bad += 1
    elif mins <= LIMIT_MIN:
        ok += 1
n = len(work)
pct = 100.0 * ok / n
print(f"STAT specimens: {n}; within {LIMIT_MIN} min: {ok}; untimeable (negative or >24 h): {bad}")
print(f"STAT TAT compliance: {pct:.1f}% (target {TARGET:.0f}%)")
if pct >= TARGET:
    print("STATUS: TARGET MET")
    sys.exit(0)
print("STATUS: BELOW TARGET")
sys.exit(1)
