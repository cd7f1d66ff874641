#!/usr/bin/env python3
"""Inventory record accuracy (IRA) for the annual cycle-count programme: share of SKU-locations whose
counted quantity equals the WMS system quantity (zero tolerance, in eaches)."""
import csv
import sys

TARGET = 98.0
system = {(r["sku"], r["location"]): int(r["system_qty"])
          for r in csv.DictReader(open("/app/data/wms_snapshot.csv", newline=""))}
counts = list(csv.DictReader(open("/app/data/cycle_counts.csv", newline="")))
if len(counts) != len(system) or any((r["sku"], r["location"]) not in system for r in counts):
    print("ERROR: cycle_counts.csv must have exactly one count per WMS SKU-location")
    sys.exit(2)
match = sum(int(r["counted_qty"]) == system[(r["sku"], r["location"])] for r in counts)
pct = 100.0 * match / len(counts)
print(f"SKU-locations counted: {len(counts)}; matching the WMS: {match}; variances: {len(counts) - match}")
print(f"INVENTORY RECORD ACCURACY: {pct:.1f}% (target {TARGET:.0f}%)")
if pct >= TARGET:
    print("AUDIT WAIVER: ELIGIBLE (no wall-to-wall count required)")
    sys.exit(0)
print("AUDIT WAIVER: NOT ELIGIBLE (wall-to-wall count required)")
sys.exit(1)
