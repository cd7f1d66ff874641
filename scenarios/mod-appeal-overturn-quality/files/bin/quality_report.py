#!/usr/bin/env python3
"""Quarterly moderation-quality report: appeal overturn rate = overturned appeals / decided appeals.
Definition QC-7 (Trust & Safety Quality Council): every overturn counts, whatever the reason, because
each one is a wrong outcome for a user at the time it was applied."""
import csv
import os
from collections import Counter

BASE = "/app"
TARGET = 10.0
rows = list(csv.DictReader(open(os.path.join(BASE, "data/appeals_q3.csv"))))
over = [r for r in rows if r["outcome"] == "overturned"]
for reason, n in sorted(Counter(r["overturn_reason"] for r in over).items()):
    print(f"  overturned ({reason}): {n}")
for area, n in Counter(r["policy_area"] for r in over).most_common(3):
    print(f"  top area: {area} {n}")
rate = round(100 * len(over) / len(rows), 1)
print(f"appeals decided: {len(rows)}, overturned: {len(over)}")
print(f"OVERTURN RATE: {rate}% (quality target <= {TARGET}%)")
print("QUALITY: " + ("ON TARGET" if rate <= TARGET else "OFF TARGET"))
