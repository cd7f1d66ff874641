#!/usr/bin/env python3
"""Plate QC gate for the screening campaign.

1. Consistency: every row of work/assay_long.csv must match the instrument export raw/plate_reads.csv
   (same wells, same signal). A plate with any mismatch is INCONSISTENT and fails QC.
2. Z'-factor per plate from the control wells: Z' = 1 - 3 (sd_pos + sd_neg) / |mean_pos - mean_neg|.
   A plate passes at Z' >= 0.5 (assay SOP section 8.2).
The campaign passes when at least 90% of plates pass. Writes out/qc_summary.csv.
"""
import csv
import os
import statistics
from collections import defaultdict

BASE = "/app"
ZMIN, PLATE_PASS_TARGET = 0.5, 90.0


def load(path):
    with open(os.path.join(BASE, path)) as fh:
        return list(csv.DictReader(fh))


raw, work = load("raw/plate_reads.csv"), load("work/assay_long.csv")
raw_sig = {(r["plate"], r["well"]): r["signal"] for r in raw}
mismatch = defaultdict(int)
seen = set()
for r in work:
    key = (r["plate"], r["well"])
    seen.add(key)
    if raw_sig.get(key) != r["signal"]:
        mismatch[r["plate"]] += 1
for key in raw_sig.keys() - seen:
    mismatch[key[0]] += 1

ctrl = defaultdict(lambda: {"pos_ctrl": [], "neg_ctrl": []})
for r in work:
    if r["role"] in ("pos_ctrl", "neg_ctrl"):
        ctrl[r["plate"]][r["role"]].append(float(r["signal"]))

plates = sorted({r["plate"] for r in raw})
passed, lines = 0, []
for p in plates:
    pos, neg = ctrl[p]["pos_ctrl"], ctrl[p]["neg_ctrl"]
    if mismatch[p]:
        status, z = f"INCONSISTENT ({mismatch[p]} rows differ from raw export)", None
    elif len(pos) < 2 or len(neg) < 2:
        status, z = "NO CONTROLS", None
    else:
        z = 1 - 3 * (statistics.stdev(pos) + statistics.stdev(neg)) / abs(statistics.mean(pos) - statistics.mean(neg))
        status = "pass" if z >= ZMIN else "fail"
    passed += status == "pass"
    lines.append((p, "" if z is None else f"{z:.3f}", status))
os.makedirs(os.path.join(BASE, "out"), exist_ok=True)
with open(os.path.join(BASE, "out/qc_summary.csv"), "w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["plate", "z_prime", "status"])
    w.writerows(lines)
for p, z, st in lines:
    print(f"{p}  Z'={z or '-':>6}  {st}")
rate = round(100 * passed / len(plates), 1)
print(f"Plates passing QC: {passed}/{len(plates)} ({rate}%), target {PLATE_PASS_TARGET:g}%")
print("QC STATUS: " + ("PASS" if rate >= PLATE_PASS_TARGET else "FAIL"))
