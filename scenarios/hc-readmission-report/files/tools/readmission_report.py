#!/usr/bin/env python3
"""Quarterly 30-day unplanned readmission measure (hospital-wide), written to /app/out/readmission_report.txt.

Index stays: every discharge except transfers and in-hospital deaths. Numerator: unplanned readmission
within the measure window. Settings come from /app/config/quality.ini; READMIT_WINDOW_DAYS overrides the
window for the sensitivity analyses the quality committee asks for now and then."""
import configparser
import csv
import os
import sys

cfg = configparser.ConfigParser()
cfg.read("/app/config/quality.ini")
m = cfg["measure"]
window = int(os.environ.get("READMIT_WINDOW_DAYS", m.get("window_days", "30")))
exclude_planned = m.getboolean("exclude_planned", True)
target = float(m.get("target_rate_pct", "12.0"))

index = readmits = 0
by_line: dict[str, list[int]] = {}
with open("/app/data/discharges.csv", newline="") as fh:
    for row in csv.DictReader(fh):
        if row["disposition"] in ("transfer", "expired"):
            continue
        index += 1
        hit = bool(row["readmit_after_days"]) and int(row["readmit_after_days"]) <= window
        if hit and exclude_planned and row["readmit_planned"] == "Y":
            hit = False
        readmits += hit
        t = by_line.setdefault(row["service_line"], [0, 0])
        t[0] += 1
        t[1] += hit

rate = 100.0 * readmits / index
lines = [f"Q2 2024 unplanned readmission measure (window: {window} days)",
         f"Index discharges: {index}", f"Unplanned readmissions: {readmits}",
         f"Readmission rate: {rate:.1f}% (target <= {target:.1f}%)", "", "By service line:"]
lines += [f"  {k:<18} {v[1]:>3}/{v[0]:<3} {100.0 * v[1] / v[0]:5.1f}%" for k, v in sorted(by_line.items())]
ok = rate <= target
lines += ["", "STATUS: MEETS TARGET" if ok else "STATUS: ABOVE TARGET"]
os.makedirs("/app/out", exist_ok=True)
with open("/app/out/readmission_report.txt", "w") as fh:
    fh.write("\n".join(lines) + "\n")
print("\n".join(lines))
sys.exit(0 if ok else 1)
