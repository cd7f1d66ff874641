#!/usr/bin/env python3
"""De-identifies the cohort for public deposit exactly as the deposit codebook (docs/deposit_codebook.md)
prescribes: drop direct identifiers, generalise quasi-identifiers, suppress rare combinations (k = 5)."""
import csv
import os
from collections import Counter

BASE = "/app"
K = 5
DROP = ("full_name", "email", "date_of_birth")
rows = list(csv.DictReader(open(os.path.join(BASE, "data/participants_full.csv"))))
for r in rows:
    a = int(r.pop("age"))
    r["age_band"] = f"{a // 10 * 10}-{a // 10 * 10 + 9}"
    r["zip3"] = r.pop("zip")[:3]
    for k in DROP:
        r.pop(k)
key = lambda r: (r["age_band"], r["zip3"], r["sex"])  # noqa: E731
counts = Counter(key(r) for r in rows)
kept = [r for r in rows if counts[key(r)] >= K]
os.makedirs(os.path.join(BASE, "deposit"), exist_ok=True)
cols = ["participant_id", "age_band", "sex", "zip3", "systolic_bp", "daily_steps", "phq9", "arm"]
with open(os.path.join(BASE, "deposit/participants_deid.csv"), "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(kept)
print(f"kept {len(kept)} of {len(rows)} records; suppressed {len(rows) - len(kept)} in groups smaller than k={K}")
