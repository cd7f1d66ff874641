#!/usr/bin/env python3
"""Summarise the reefer data-logger files (return-air temperature) per container against the 2-8 C label."""
import csv
import glob
import os

for path in sorted(glob.glob("/app/data/reefer_*.csv")):
    cont = os.path.basename(path)[7:-4]
    rows = list(csv.DictReader(open(path, newline="")))
    temps = [float(r["return_air_c"]) for r in rows]
    out = [r for r in rows if not 2.0 <= float(r["return_air_c"]) <= 8.0]
    span = f", first {out[0]['timestamp']} last {out[-1]['timestamp']}" if out else ""
    print(f"{cont}: {len(rows)} readings, min {min(temps):.1f} C, max {max(temps):.1f} C, "
          f"{len(out)} readings outside 2-8 C (~{len(out) * 30} min){span}")
