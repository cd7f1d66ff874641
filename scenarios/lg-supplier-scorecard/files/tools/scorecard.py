#!/usr/bin/env python3
"""Quarterly supplier scorecard for our retail customer: line fill rate = order lines shipped complete /
order lines ordered. Writes /app/out/scorecard.txt."""
import argparse
import csv
import os
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--orders", default="/app/data/orders_q3.csv", help="order-line extract for the quarter")
ap.add_argument("--period", default="2024-Q3")
a = ap.parse_args()
if not os.path.exists(a.orders):
    sys.exit(f"scorecard: {a.orders}: no such file (see docs/SCORECARD_HOWTO.md)")
rows = list(csv.DictReader(open(a.orders, newline="")))
full = sum(int(r["qty_shipped"]) >= int(r["qty_ordered"]) for r in rows)
pct = 100.0 * full / len(rows)
out = [f"Supplier scorecard - Period: {a.period}", f"Source: {a.orders}",
       f"Order lines: {len(rows)}; shipped complete: {full}", f"Line fill rate: {pct:.1f}% (commitment 97%)",
       "SCORECARD: MEETS 97% COMMITMENT" if pct >= 97 else "SCORECARD: BELOW 97% COMMITMENT"]
os.makedirs("/app/out", exist_ok=True)
open("/app/out/scorecard.txt", "w").write("\n".join(out) + "\n")
print("\n".join(out))
sys.exit(0 if pct >= 97 else 1)
