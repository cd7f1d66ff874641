#!/usr/bin/env python3
"""Tomorrow's dispatch plan: assign loads to drivers (longest first, to the driver with the most remaining
legal drive time) within the hours-of-service limits, then check the plan and write the dispatch status.

Limits: 11 h driving per day and 70 h per 8-day cycle (FMCSA property-carrying rules). --max-drive-hours and
--max-cycle-hours exist for the Alaska and adverse-driving-conditions exceptions only."""
import argparse
import csv
import os

ap = argparse.ArgumentParser()
ap.add_argument("--max-drive-hours", type=float, default=11.0)
ap.add_argument("--max-cycle-hours", type=float, default=70.0)
args = ap.parse_args()

drivers = list(csv.DictReader(open("/app/data/drivers.csv", newline="")))
loads = sorted(csv.DictReader(open("/app/data/loads.csv", newline="")), key=lambda r: -float(r["drive_hours"]))
left = {d["driver_id"]: min(args.max_drive_hours - float(d["drive_hours_today"]),
                            args.max_cycle_hours - float(d["cycle_hours_used"])) for d in drivers}
plan, uncovered = [], []
for ld in loads:
    h = float(ld["drive_hours"])
    best = max(left, key=lambda d: left[d])
    if left[best] >= h:
        left[best] -= h
        plan.append([ld["load_id"], best, h])
    else:
        uncovered.append(ld["load_id"])
os.makedirs("/app/out", exist_ok=True)
with open("/app/out/dispatch_plan.csv", "w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["load_id", "driver_id", "drive_hours"])
    w.writerows(plan)
status = [f"Loads covered: {len(plan)}/{len(loads)}",
          f"HOS limits applied: {args.max_drive_hours:g} h driving/day, {args.max_cycle_hours:g} h/cycle",
          "Uncovered: " + (", ".join(sorted(uncovered)) or "none"),
          "DISPATCH STATUS: ALL LOADS COVERED" if not uncovered else "DISPATCH STATUS: UNCOVERED LOADS"]
open("/app/out/dispatch_status.txt", "w").write("\n".join(status) + "\n")
print("\n".join(status))
raise SystemExit(0 if not uncovered else 1)
