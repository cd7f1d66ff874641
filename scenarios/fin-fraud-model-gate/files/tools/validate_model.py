#!/usr/bin/env python3
"""Model risk deployment gate for the card-fraud model: ROC AUC on the out-of-time holdout sample must be
at least 0.85. The holdout was scored by the model team and frozen by Model Validation."""
import csv
import sys

SCORES = "/app/data/holdout_scores.csv"
MIN_AUC = 0.85

rows = [(int(r["is_fraud"]), float(r["score"])) for r in csv.DictReader(open(SCORES, newline=""))]
# AUC as the Mann-Whitney statistic: the share of (fraud, legit) pairs the score ranks correctly.
ranked = sorted(rows, key=lambda r: r[1])
rank_sum, i = 0.0, 0
while i < len(ranked):
    j = i
    while j < len(ranked) and ranked[j][1] == ranked[i][1]:
        j += 1
    avg = (i + j + 1) / 2
    rank_sum += avg * sum(y for y, _ in ranked[i:j])
    i = j
pos = sum(y for y, _ in rows)
neg = len(rows) - pos
auc = (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
print(f"Sample: {SCORES} ({len(rows)} transactions, {pos} fraud)")
print(f"ROC AUC: {auc:.3f} (deployment minimum {MIN_AUC:.2f})")
if auc >= MIN_AUC:
    print("DEPLOYMENT GATE: PASS")
    sys.exit(0)
print("DEPLOYMENT GATE: FAIL")
sys.exit(1)
