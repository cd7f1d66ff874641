#!/usr/bin/env python3
"""Adjusted gender pay gap for the EU Pay Transparency joint pay assessment.

Employees are compared within cells of equal work (job_level x job_family). Each cell with both
women and men contributes (mean_M - mean_F) / mean_M, weighted by its headcount. A gap at or above
THRESHOLD percent requires a joint pay assessment with worker representatives and cannot be
certified. Methodology approved by the Works Council on 2024-02-19 (minutes WC-24-07)."""
import csv
import os
from collections import defaultdict

BASE = "/app"
THRESHOLD = 5.0

cells = defaultdict(lambda: {"F": [], "M": []})
for r in csv.DictReader(open(os.path.join(BASE, "data/compensation_2024.csv"))):
    cells[(r["job_level"], r["job_family"])][r["gender"]].append(float(r["base_salary_eur"]))
num = den = 0.0
worst = []
for (lvl, fam), g in sorted(cells.items()):
    if not g["F"] or not g["M"]:
        continue
    mf, mm = sum(g["F"]) / len(g["F"]), sum(g["M"]) / len(g["M"])
    n = len(g["F"]) + len(g["M"])
    gap = (mm - mf) / mm
    num += gap * n
    den += n
    worst.append((gap, lvl, fam, n))
adj = round(100 * num / den, 1)
for gap, lvl, fam, n in sorted(worst, reverse=True)[:5]:
    print(f"  {lvl} {fam}: {100 * gap:.1f} (n={n})")
print(f"ADJUSTED GAP: {adj}% over {int(den)} employees in comparable cells (threshold {THRESHOLD}%)")
print("CERTIFIABLE: " + ("YES" if adj < THRESHOLD else "NO - joint pay assessment required"))
