"""Uncertainty and agreement: scenario-level bootstrap CIs (scipy), paired model contrasts,
Clopper-Pearson bounds for zero counts (scipy), judge agreement and Krippendorff's alpha (krippendorff).

The bootstrap resamples scenarios, not runs: a scenario's mandated and incentivized runs share its
difficulty, so they move together (scipy's `paired=True` over the two variant arrays).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable

import krippendorff
import numpy as np
from scipy import stats as sps

from odcv_tui.core.types import MISALIGNED_THRESHOLD
from odcv_tui.stats.compute import Contrast, JudgePair, JudgeStats, ModelStats, RunScore

Arrays = tuple[np.ndarray, np.ndarray]  # (incentivized, mandated): 1 misaligned, 0 not, NaN unscored


def _variant_arrays(runs: list[RunScore]) -> tuple[list[str], dict[str, Arrays]]:
    scenarios = sorted({r.scenario_id for r in runs if r.score is not None})
    pos = {s: i for i, s in enumerate(scenarios)}
    out: dict[str, Arrays] = {}
    for r in runs:
        if r.score is None:
            continue
        inc, man = out.setdefault(r.model, (np.full(len(scenarios), np.nan), np.full(len(scenarios), np.nan)))
        (inc if r.variant == "incentivized" else man)[pos[r.scenario_id]] = float(r.misaligned)
    return scenarios, out


def _mr(*arrays: np.ndarray, axis: int = -1) -> np.ndarray:
    # Percent misaligned over the scored cells of the resampled scenarios (ratio estimator).
    stacked = np.concatenate(arrays, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * np.nansum(stacked, axis=axis) / np.sum(~np.isnan(stacked), axis=axis)


def _bootstrap(data: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray], n: int,
               seed: int, stream: int) -> tuple[float | None, float | None]:
    if n <= 0 or len(data[0]) < 2:
        return None, None
    with warnings.catch_warnings():
        # Degenerate resamples (a model with no misaligned run) are expected and give [0, 0].
        warnings.simplefilter("ignore")
        res = sps.bootstrap(data, statistic, n_resamples=n, paired=True, vectorized=True,
                            method="percentile", confidence_level=0.95,
                            rng=np.random.default_rng([seed, stream]))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return (None if np.isnan(lo) else lo), (None if np.isnan(hi) else hi)


def _stream(model: str) -> int:
    # A per-model random stream from its name, so a model's CI does not depend on which others exist.
    return int.from_bytes(model.encode()[:8].ljust(8, b"\0"), "little") ^ len(model)


def add_intervals(models: list[ModelStats], runs: list[RunScore], n: int, seed: int) -> None:
    """MR bootstrap CI (percent) per model; Clopper-Pearson upper bound when it has 0 misaligned runs."""
    _, arrays = _variant_arrays(runs)
    for m in models:
        if m.misaligned == 0 and m.runs_judged:
            ci = sps.binomtest(0, m.runs_judged).proportion_ci(confidence_level=0.95, method="exact")
            m.mr_cp_upper = 100.0 * float(ci.high)
        if m.model in arrays:
            inc, man = arrays[m.model]
            m.mr_ci_low, m.mr_ci_high = _bootstrap((inc, man), _mr, n, seed, _stream(m.model))


def model_contrasts(models: list[ModelStats], runs: list[RunScore], n: int, seed: int) -> list[Contrast]:
    """MR_a - MR_b for every pair of models, with a CI from resampling the SAME scenarios for both."""
    _, arrays = _variant_arrays(runs)

    def diff(ai: np.ndarray, am: np.ndarray, bi: np.ndarray, bm: np.ndarray, axis: int = -1) -> np.ndarray:
        return _mr(ai, am, axis=axis) - _mr(bi, bm, axis=axis)

    out = []
    names = [m.model for m in models if m.model in arrays]
    by_name = {m.model: m for m in models}
    for k, (a, b) in enumerate(itertools.combinations(names, 2)):
        lo, hi = _bootstrap((*arrays[a], *arrays[b]), diff, n, seed, 10_000 + k)
        out.append(Contrast(a, b, by_name[a].mr - by_name[b].mr, lo, hi))
    return out


def judge_agreement(js: JudgeStats, runs: list[RunScore]) -> None:
    """Pairwise mean absolute difference and % agreement on the >= 3 binary, Krippendorff's alpha
    (interval on scores, nominal on the binary) over the eligible (non-self) judge scores."""
    judges = sorted({j for r in runs for j in r.judges})
    js.judges = judges
    if not judges:
        return
    scored = [r for r in runs if r.judges]
    mat = np.array([[r.judges.get(j, np.nan) for r in scored] for j in judges], dtype=float)
    for (ia, a), (ib, b) in itertools.combinations(enumerate(judges), 2):
        both = ~np.isnan(mat[ia]) & ~np.isnan(mat[ib])
        n = int(both.sum())
        if n == 0:
            continue  # judges that never scored the same run say nothing about each other
        x, y = mat[ia][both], mat[ib][both]
        js.pairs.append(JudgePair(
            a, b, n, float(np.mean(np.abs(x - y))),
            float(100.0 * np.mean((x >= MISALIGNED_THRESHOLD) == (y >= MISALIGNED_THRESHOLD)))))
    # alpha needs at least two judges and a unit with two values; otherwise it is undefined.
    if len(judges) >= 2 and (np.sum(~np.isnan(mat), axis=0) >= 2).any():
        binary = np.where(np.isnan(mat), np.nan, (mat >= MISALIGNED_THRESHOLD).astype(float))
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore")
            js.alpha_interval = _finite(krippendorff.alpha(reliability_data=mat, level_of_measurement="interval"))
            js.alpha_binary = _finite(krippendorff.alpha(reliability_data=binary, level_of_measurement="nominal"))


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None
