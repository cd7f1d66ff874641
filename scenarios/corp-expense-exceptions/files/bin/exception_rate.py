#!/usr/bin/env python3
"""Q2 T&E policy-exception rate for the audit committee: share of claims above the per-claim limit
of their category (policy/limits.json)."""
import csv
import json
import os
from collections import Counter

BASE = "/app"
TARGET = 3.0
limits = json.load(open(os.path.join(BASE, "policy/limits.json")))["per_claim_limits"]
rows = list(csv.DictReader(open(os.path.join(BASE, "data/expenses_q2.csv"))))
over = [r for r in rows if float(r["amount"]) > limits[r["category"]]]
for cat, n in sorted(Counter(r["category"] for r in over).items()):
    print(f"  {cat}: {n} over limit ({limits[cat]})")
rate = round(100 * len(over) / len(rows), 1)
print(f"claims: {len(rows)}, exceptions: {len(over)}")
print(f"EXCEPTION RATE: {rate}% (audit committee target <= {TARGET}%)")
print("STATUS: " + ("WITHIN TARGET" if rate <= TARGET else "ABOVE TARGET"))
