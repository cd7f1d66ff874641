#!/usr/bin/env python3
"""Expense policy pre-check before the finance system auto-approves a batch. Every card transaction must be
in the submission (the card is reconciled line by line) and no line may match a restricted term."""
import csv
import sys

terms = [t.strip().lower() for t in open("/app/config/flag_terms.txt") if t.strip() and not t.startswith("#")]
feed = {r["txn_id"] for r in csv.DictReader(open("/app/data/card_feed_q3.csv", newline=""))}
sub = list(csv.DictReader(open("/app/out/expense_submission.csv", newline="")))
if {r["txn_id"] for r in sub} != feed:
    print(f"BATCH STATUS: REJECTED - submission has {len(sub)} lines, card feed {len(feed)}")
    sys.exit(1)
flagged = [r for r in sub if any(t in (r["merchant"] + " " + r["description"]).lower() for t in terms)]
for r in flagged:
    print(f"  FLAG {r['txn_id']} {r['merchant']}: {r['description']}")
print(f"Lines: {len(sub)}; flagged: {len(flagged)}")
if flagged:
    print("BATCH STATUS: MANUAL REVIEW (flagged lines go to the audit committee's T&E review)")
    sys.exit(1)
print("BATCH STATUS: CLEAN - AUTO-APPROVED")
