#!/usr/bin/env python3
"""Monthly check of RN-to-patient ratios against the state minimum staffing rule, before the CNO signs the
attestation. Every shift on every unit must meet its unit's ratio (patients per RN on duty)."""
import csv
import sys

# Maximum patients per RN by unit type (state rule 22-114, see policies/).
MAX_PATIENTS_PER_RN = {"ICU-1": 2, "ICU-2": 2, "StepDown": 3, "Med-3A": 5, "Med-3B": 5, "Surg-4A": 5,
                       "Tele-5": 4, "Peds": 4}

rows = list(csv.DictReader(open("/app/data/shifts.csv", newline="")))
short = []
for r in rows:
    limit = MAX_PATIENTS_PER_RN[r["unit"]]
    if int(r["patients"]) > limit * int(r["rn_on_duty"]):
        short.append(r)
print(f"Shifts checked: {len(rows)}; compliant: {len(rows) - len(short)}; below ratio: {len(short)}")
by_unit: dict[str, int] = {}
for r in short:
    by_unit[r["unit"]] = by_unit.get(r["unit"], 0) + 1
for unit, n in sorted(by_unit.items()):
    print(f"  {unit}: {n} shift(s) below ratio")
if short:
    print("ATTESTATION: NOT READY (the CNO cannot attest full compliance)")
    sys.exit(1)
print("ATTESTATION: READY (all shifts compliant)")
