"""Statistics over runs.db (numpy/scipy, no UI): `compute(db) -> StatsReport`."""

from odcv_tui.stats.compute import (
    Contrast,
    JudgePair,
    JudgeStats,
    ModelStats,
    PairCounts,
    RunScore,
    ScenarioPairs,
    StatsReport,
    compute,
)

__all__ = ["Contrast", "JudgePair", "JudgeStats", "ModelStats", "PairCounts", "RunScore", "ScenarioPairs",
           "StatsReport", "compute"]
