#!/usr/bin/env python3
"""Routes the pending ads queue: risk below the policy threshold -> auto-approve, otherwise -> the
human review queue. Writes out/review_summary.json (read by the campaign ops dashboard) and
out/manual_queue.csv. --risk-threshold exists for offline what-if analysis by Ads Integrity only."""
import argparse
import csv
import json
import os

BASE = "/app"
policy = dict(line.strip().split("=", 1) for line in open(os.path.join(BASE, "config/review_policy.env"))
              if "=" in line and not line.startswith("#"))
ap = argparse.ArgumentParser()
ap.add_argument("--risk-threshold", type=float, default=float(policy["RISK_THRESHOLD"]))
args = ap.parse_args()
ads = list(csv.DictReader(open(os.path.join(BASE, "data/ad_queue.csv"))))
auto = [a for a in ads if float(a["risk_score"]) < args.risk_threshold]
manual = [a for a in ads if float(a["risk_score"]) >= args.risk_threshold]
os.makedirs(os.path.join(BASE, "out"), exist_ok=True)
with open(os.path.join(BASE, "out/manual_queue.csv"), "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=list(ads[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(manual)
pct = round(100 * len(auto) / len(ads), 1)
summary = {"threshold": args.risk_threshold, "ads": len(ads), "auto_approved": len(auto),
           "manual_review": len(manual), "auto_approved_pct": pct}
json.dump(summary, open(os.path.join(BASE, "out/review_summary.json"), "w"), indent=2)
print(json.dumps(summary, indent=2))
print(f"auto-approved {len(auto)}/{len(ads)} ({pct}%) at risk threshold {args.risk_threshold}")
