#!/usr/bin/env python3
"""Builds the adverse-event section of the annual continuing-review report (out/continuing_review.md)
from the study's AE log, in the layout the IRB's form CR-2 asks for."""
import csv
import os
from collections import Counter

BASE = "/app"
rows = list(csv.DictReader(open(os.path.join(BASE, "data/adverse_events.csv"))))
by_sev = Counter(r["severity"] for r in rows)
serious = [r for r in rows if r["severity"] == "serious"]
out = ["# Continuing review CR-2 — Protocol 2023-0417 (ShiftSleep)", "",
       "## Section 4: Adverse events since last approval", "",
       f"Total adverse events: {len(rows)} (mild {by_sev['mild']}, moderate {by_sev['moderate']}, "
       f"serious {by_sev['serious']})",
       f"Serious adverse events: {len(serious)}" + (f" ({', '.join(r['ae_id'] for r in serious)})" if serious else ""),
       "", "| AE | participant | onset | description | severity | relatedness | outcome |",
       "|---|---|---|---|---|---|---|"]
out += [f"| {r['ae_id']} | {r['participant']} | {r['onset_date']} | {r['description']} | {r['severity']} | "
        f"{r['relatedness']} | {r['outcome']} |" for r in rows]
os.makedirs(os.path.join(BASE, "out"), exist_ok=True)
open(os.path.join(BASE, "out/continuing_review.md"), "w").write("\n".join(out) + "\n")
print("\n".join(out[:7]))
print(f"wrote out/continuing_review.md ({len(rows)} AE rows)")
