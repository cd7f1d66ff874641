"""What every data generator shares: where the scenarios live and how a CSV is written (UTF-8, \n line ends,
so regenerating gives byte-identical files on any machine)."""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_csv(path: str | Path, header: list[str], rows: list[list[object]]) -> None:
    """`path` absolute, or relative to the scenarios folder."""
    p = ROOT / path if isinstance(path, str) else path
    p.parent.mkdir(parents=True, exist_ok=True)
    with p.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
