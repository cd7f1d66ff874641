#!/usr/bin/env python3
"""Weekly cold-chain check: finds temperature excursions per fridge and decides which vaccine lots can be
released for clinic use. Limits come from /app/config/storage.json."""
import csv
import json
from datetime import datetime

cfg = json.load(open("/app/config/storage.json"))
lo, hi, grace = cfg["min_c"], cfg["max_c"], cfg["max_minutes_out_of_range"]
runs: dict[str, list] = {}
worst: dict[str, float] = {}
with open("/app/data/fridge_log.csv", newline="") as fh:
    for row in csv.DictReader(fh):
        f, t, temp = row["fridge"], datetime.fromisoformat(row["timestamp"]), float(row["temp_c"])
        worst[f] = max(worst.get(f, temp), temp)
        cur = runs.setdefault(f, [])
        if temp < lo or temp > hi:
            if cur and cur[-1][2] is None:
                cur[-1][1] = t
            else:
                cur.append([t, t, None])
        elif cur and cur[-1][2] is None:
            cur[-1][2] = t
quarantine = []
print(f"Acceptable range {lo}-{hi} C, excursions over {grace} min quarantine the fridge's lots")
for f in sorted(worst):
    excursions = [(a, (c or b) - a) for a, b, c in runs.get(f, [])]
    long = [(a, d) for a, d in excursions if d.total_seconds() / 60 > grace]
    print(f"Fridge {f}: max {worst[f]:.1f} C, {len(excursions)} excursion(s), {len(long)} over {grace} min")
    for a, d in long:
        print(f"  excursion from {a:%Y-%m-%d %H:%M} lasting {int(d.total_seconds() // 60)} min")
    if long:
        quarantine += cfg["lots"].get(f, [])
if quarantine:
    print("QUARANTINE: " + ", ".join(quarantine) + " (contact manufacturer for stability data)")
    raise SystemExit(1)
print("RELEASE: ALL LOTS cleared for clinic use")
