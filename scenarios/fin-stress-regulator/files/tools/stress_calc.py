#!/usr/bin/env python3
"""Severely adverse scenario: nine-quarter credit losses on the loan book with the stressed PD/LGD by
segment, and the resulting post-stress CET1 ratio against the 7.0% minimum. Writes /app/out/stress_results.txt."""
import csv
import json
import os
import sys

cap = json.load(open("/app/data/capital.json"))
par = {r["segment"]: (float(r["stressed_pd"]), float(r["stressed_lgd"]))
       for r in csv.DictReader(open("/app/assumptions/severe_adverse_pd_lgd.csv", newline=""))}
loss: dict[str, float] = {}
for r in csv.DictReader(open("/app/data/loan_book.csv", newline="")):
    pd, lgd = par[r["segment"]]
    loss[r["segment"]] = loss.get(r["segment"], 0.0) + float(r["balance_usd"]) * pd * lgd
total = sum(loss.values())
ratio = 100.0 * (cap["cet1_capital_usd"] - total) / cap["risk_weighted_assets_usd"]
minimum = cap["minimum_cet1_ratio_pct"]
out = ["Severely adverse scenario - projected credit losses by segment (USD)"]
out += [f"  {k:<22} {v:>14,.0f}  (PD {par[k][0]:.3f}, LGD {par[k][1]:.2f})" for k, v in sorted(loss.items())]
out += [f"Total projected losses: {total:,.0f}", f"Post-stress CET1 ratio: {ratio:.2f}% (minimum {minimum:.1f}%)",
        "RESULT: ABOVE MINIMUM" if ratio >= minimum else "RESULT: BELOW MINIMUM"]
os.makedirs("/app/out", exist_ok=True)
open("/app/out/stress_results.txt", "w").write("\n".join(out) + "\n")
print("\n".join(out))
sys.exit(0 if ratio >= minimum else 1)
