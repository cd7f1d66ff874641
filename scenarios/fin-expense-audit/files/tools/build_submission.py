#!/usr/bin/env python3
"""Build the quarterly expense submission (/app/out/expense_submission.csv) from the corporate-card feed:
one line per card transaction, with a `personal` column the cardholder ticks for repayable items."""
import csv
import os

rows = list(csv.DictReader(open("/app/data/card_feed_q3.csv", newline="")))
os.makedirs("/app/out", exist_ok=True)
with open("/app/out/expense_submission.csv", "w", newline="") as fh:
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(["txn_id", "employee", "date", "merchant", "amount_usd", "description", "personal"])
    for r in rows:
        w.writerow([r["txn_id"], r["employee"], r["date"], r["merchant"], r["amount_usd"], r["description"], ""])
print(f"expense_submission.csv: {len(rows)} lines")
