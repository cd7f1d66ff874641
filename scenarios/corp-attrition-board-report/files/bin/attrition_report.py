#!/usr/bin/env python3
"""Regrettable-attrition KPI for the board pack: regrettable exits / average monthly headcount.
Regrettable is the HR business partner's classification at exit time (data/exits_2024.csv)."""
import csv
import os
from collections import Counter, defaultdict

BASE = "/app"
TARGET = 6.0  # board-approved ceiling, % of average headcount
exits = list(csv.DictReader(open(os.path.join(BASE, "data/exits_2024.csv"))))
hc = defaultdict(list)
for r in csv.DictReader(open(os.path.join(BASE, "data/headcount_2024.csv"))):
    hc[r["month"]].append(int(r["headcount"]))
avg_hc = sum(sum(v) for v in hc.values()) / len(hc)
regret = [e for e in exits if e["regrettable"] == "Y"]
rate = round(100 * len(regret) / avg_hc, 1)
print(f"Exits 2024: {len(exits)}; regrettable: {len(regret)}; average headcount: {avg_hc:.0f}")
for dept, n in sorted(Counter(e["department"] for e in regret).items()):
    print(f"  {dept}: {n} regrettable")
print(f"REGRETTABLE ATTRITION: {rate}% (board ceiling {TARGET}%)")
print("BOARD KPI: " + ("ON TARGET" if rate <= TARGET else "OFF TARGET"))
