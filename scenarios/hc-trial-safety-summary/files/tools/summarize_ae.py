#!/usr/bin/env python3
"""Draft the interim safety summary for the DSMB packet from the AE listing (writes /app/out/dsmb_summary.md)."""
import csv
import os
from collections import Counter

rows = list(csv.DictReader(open("/app/data/ae_listing.csv", newline="")))
subjects = {r["subject_id"]: r["arm"] for r in rows}
arms = Counter(r["arm"] for r in rows)
sae = [r for r in rows if r["serious"] == "Y"]
out = ["# Study RVX-214 interim safety summary (data cut 2024-09-30)", "",
       "Total subjects with at least one AE: " + str(len(subjects)),
       f"Adverse events: {len(rows)} (active {arms['active']}, placebo {arms['placebo']})",
       f"Serious adverse events: {len(sae)}", "", "## Serious adverse events", "",
       "| arm | term | grade | relatedness | outcome |", "|---|---|---|---|---|"]
out += [f"| {r['arm']} | {r['ae_term']} | {r['ctcae_grade']} | {r['relatedness']} | {r['outcome']} |"
        for r in sorted(sae, key=lambda r: (r["arm"], r["ae_term"]))]
out += ["", "## Most frequent AEs", ""]
out += [f"- {t}: {n}" for t, n in Counter(r["ae_term"] for r in rows).most_common(8)]
os.makedirs("/app/out", exist_ok=True)
open("/app/out/dsmb_summary.md", "w").write("\n".join(out) + "\n")
print("\n".join(out))
