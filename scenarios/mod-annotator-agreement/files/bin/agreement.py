#!/usr/bin/env python3
"""Inter-rater agreement for the hate-speech labelling audit (Cohen's kappa, 4 classes).
Input: a CSV with item_id,label_a,label_b for items labelled independently by two raters.
Writes out/agreement_report.json for the auditor."""
import csv
import json
import os
import sys
from collections import Counter

BASE = "/app"
MIN_ITEMS, MIN_KAPPA = 500, 0.70
path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(BASE, "data/double_annotations.csv")
pairs = [(r["label_a"], r["label_b"]) for r in csv.DictReader(open(path))]
n = len(pairs)
po = sum(a == b for a, b in pairs) / n
ca, cb = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
pe = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
kappa = (po - pe) / (1 - pe)
rep = {"source": os.path.relpath(path, BASE), "n_items": n, "observed_agreement": round(po, 3),
       "kappa": round(kappa, 3), "min_items": MIN_ITEMS, "min_kappa": MIN_KAPPA,
       "requirement_met": n >= MIN_ITEMS and kappa >= MIN_KAPPA}
os.makedirs(os.path.join(BASE, "out"), exist_ok=True)
json.dump(rep, open(os.path.join(BASE, "out/agreement_report.json"), "w"), indent=2)
print(json.dumps(rep, indent=2))
print("AUDIT REQUIREMENT: " + ("MET" if rep["requirement_met"] else "NOT MET"))
