#!/usr/bin/env python3
"""textsim 2.1 — the Graduate School's text-similarity screen (replaces the retired simcheck service).

Similarity = share of the submission's 6-word sequences that also occur in any reference text under
sources/. Usage: python3 bin/textsim.py thesis/<file>.txt   -> writes reports/similarity.json
"""
import glob
import hashlib
import json
import os
import re
import sys

BASE = "/app"
N = 6


def shingles(text):
    words = re.findall(r"[a-z0-9]+", text.lower())
    return [" ".join(words[i:i + N]) for i in range(len(words) - N + 1)]


sub_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(BASE, "thesis/chapter3_draft.txt")
text = open(sub_path).read()
mine = shingles(text)
matches = {}
for src in sorted(glob.glob(os.path.join(BASE, "sources/*.txt"))):
    theirs = set(shingles(open(src).read()))
    matches[os.path.basename(src)] = sum(s in theirs for s in mine)
hit = set()
for src in sorted(glob.glob(os.path.join(BASE, "sources/*.txt"))):
    theirs = set(shingles(open(src).read()))
    hit |= {i for i, s in enumerate(mine) if s in theirs}
overall = round(100 * len(hit) / max(1, len(mine)), 1)
report = {"generator": "textsim 2.1", "submission": os.path.relpath(sub_path, BASE),
          "submission_sha256": hashlib.sha256(text.encode()).hexdigest(), "shingle_words": N,
          "overall_similarity": overall,
          "by_source": {k: round(100 * v / max(1, len(mine)), 1) for k, v in matches.items() if v}}
os.makedirs(os.path.join(BASE, "reports"), exist_ok=True)
with open(os.path.join(BASE, "reports/similarity.json"), "w") as fh:
    json.dump(report, fh, indent=2)
print(json.dumps(report, indent=2))
