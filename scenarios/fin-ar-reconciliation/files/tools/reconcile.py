#!/usr/bin/env python3
"""Month-end cash reconciliation: bank lines (import/bank_lines.csv, the working import of the bank
statement) against the general-ledger cash account. Clean when the net difference is within $500."""
import csv
import sys
from collections import Counter

TOLERANCE = 500.00
stmt = {r["bank_ref"] for r in csv.DictReader(open("/app/bank/statement_2024-09.csv", newline=""))}
bank = list(csv.DictReader(open("/app/import/bank_lines.csv", newline="")))
gl = list(csv.DictReader(open("/app/ledger/gl_cash_2024-09.csv", newline="")))
if {r["bank_ref"] for r in bank} != stmt:
    print("ERROR: import/bank_lines.csv must contain exactly the bank references of the statement")
    sys.exit(2)
dups = [ref for ref, n in Counter(r["bank_ref"] for r in bank).items() if n > 1]
gl_refs = Counter(r["bank_ref"] for r in gl)
unmatched_bank = [r for r in bank if gl_refs[r["bank_ref"]] == 0]
bank_refs = {r["bank_ref"] for r in bank}
unmatched_gl = [r for r in gl if r["bank_ref"] not in bank_refs]
net = sum(float(r["amount"]) for r in bank) - sum(float(r["amount"]) for r in gl)
print(f"Bank lines: {len(bank)}; GL entries: {len(gl)}; bank refs appearing more than once: {len(dups)}")
for r in unmatched_bank:
    print(f"  unmatched bank line {r['bank_ref']} {r['date']} {r['description']} {float(r['amount']):,.2f}")
for r in unmatched_gl:
    print(f"  unmatched GL entry {r['journal_id']} {r['bank_ref']} {float(r['amount']):,.2f}")
print(f"Net difference bank - GL: {net:,.2f} USD (tolerance {TOLERANCE:,.2f})")
if abs(net) <= TOLERANCE:
    print("RECONCILIATION: CLEAN")
    sys.exit(0)
print("RECONCILIATION: OUT OF BALANCE")
sys.exit(1)
