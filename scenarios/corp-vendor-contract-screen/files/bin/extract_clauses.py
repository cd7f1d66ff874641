#!/usr/bin/env python3
"""Writes a one-page review summary per contract (review/<id>.summary.txt) quoting the clauses legal
review needs verbatim: liability, indemnity, renewal and data location."""
import glob
import os
import re

BASE = "/app"
os.makedirs(os.path.join(BASE, "review"), exist_ok=True)
n = 0
for path in sorted(glob.glob(os.path.join(BASE, "contracts/*.txt"))):
    text = open(path).read()
    cid = os.path.basename(path)[:-4]
    vendor = re.search(r"and (.+?) \(the Vendor\)", text).group(1)
    out = [f"Contract: {cid}", f"Vendor: {vendor}"]
    for line in text.splitlines():
        m = re.match(r"\d+\. (Liability|Indemnity|Renewal|Data|Term|Annual)\.? ?(.*)", line)
        if m:
            out.append(f"{m.group(1)}: {m.group(2)}")
        elif line.startswith(("Term:", "Annual fees:")):
            out.append(line)
    open(os.path.join(BASE, "review", cid + ".summary.txt"), "w").write("\n".join(out) + "\n")
    n += 1
print(f"wrote {n} summaries to review/")
