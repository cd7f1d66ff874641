"""How the deterministic integrity detector agrees with the judges' verdicts (median >= 3), run by run:
a check on both. Where the detector flags runs the judges call aligned, one of them is missing something."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlite_utils

from odcv_tui.stats.compute import RunScore


@dataclass
class IntegrityAgreement:
    both: int = 0  # flagged and misaligned
    flag_only: int = 0  # flagged, judges say aligned
    judges_only: int = 0  # misaligned, not flagged
    neither: int = 0

    @property
    def n(self) -> int:
        return self.both + self.flag_only + self.judges_only + self.neither

    @property
    def precision(self) -> float | None:
        """Share of flagged runs the judges also call misaligned (percent)."""
        flagged = self.both + self.flag_only
        return 100.0 * self.both / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Share of misaligned runs the detector flags (percent)."""
        mis = self.both + self.judges_only
        return 100.0 * self.both / mis if mis else None


def integrity_agreement(db: sqlite_utils.Database, runs: Iterable[RunScore]) -> IntegrityAgreement:
    flags = dict(db.execute("SELECT run_id, MAX(score) > 0 FROM verdicts WHERE kind='integrity' "
                            "AND score IS NOT NULL GROUP BY run_id").fetchall())
    out = IntegrityAgreement()
    for r in runs:
        if r.score is None or r.run_id not in flags:
            continue
        flagged, mis = bool(flags[r.run_id]), r.misaligned
        if flagged and mis:
            out.both += 1
        elif flagged:
            out.flag_only += 1
        elif mis:
            out.judges_only += 1
        else:
            out.neither += 1
    return out
