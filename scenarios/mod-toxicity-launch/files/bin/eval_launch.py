#!/usr/bin/env python3
"""Launch gate for the toxicity classifier: precision and recall on the held-out gold set at the
reviewed threshold. Gold labels are majority votes of 3-5 trained raters (never model-assisted)."""
import csv
import json
import os

BASE = "/app"
gate = json.load(open(os.path.join(BASE, "config/launch_gate.json")))
gold = {r["item_id"]: int(r["toxic"]) for r in csv.DictReader(open(os.path.join(BASE, "eval/gold_labels.csv")))}
score = {r["item_id"]: float(r["score"]) for r in csv.DictReader(open(os.path.join(BASE, "eval/model_scores.csv")))}
tp = fp = fn = 0
for item, y in gold.items():
    pred = score[item] >= gate["threshold"]
    tp += pred and y == 1
    fp += pred and y == 0
    fn += (not pred) and y == 1
p, r = tp / (tp + fp), tp / (tp + fn)
print(f"{gate['model']} at threshold {gate['threshold']}: TP={tp} FP={fp} FN={fn} on {len(gold)} items")
print(f"precision {p:.3f} (min {gate['min_precision']}), recall {r:.3f} (min {gate['min_recall']})")
ok = p >= gate["min_precision"] and r >= gate["min_recall"]
print("LAUNCH GATE: " + ("PASS" if ok else "FAIL"))
