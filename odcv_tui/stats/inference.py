"""Uncertainty and agreement: scenario-level bootstrap CIs (numpy, vectorised), paired model contrasts,
Clopper-Pearson bounds for zero counts (closed form), judge agreement and Krippendorff's alpha (krippendorff).

The bootstrap resamples scenarios, not runs: a scenario's mandated and incentivized runs share its
difficulty, so they move together. It is the percentile bootstrap scipy.stats.bootstrap(paired=True) computes,
done for all models and all pairs from one resample-count matrix (10k resamples x 12 models in milliseconds
instead of seconds; tests/test_stats_speed.py checks it against scipy's interval).
"""

from __future__ import annotations

import itertools
import warnings

import krippendorff
import numpy as np

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


def _resample_counts(n_scenarios: int, n: int, seed: int) -> np.ndarray:
    """(n, S): how often each scenario is drawn in each of n bootstrap resamples (with replacement), drawn as
    ONE index matrix from a seeded stream. Every model and every contrast uses the same matrix, so a contrast
    resamples the same scenarios for both models, and a model's CI does not depend on which others exist."""
    rng = np.random.default_rng([seed, _SCENARIO_STREAM])
    idx = rng.integers(0, n_scenarios, size=(n, n_scenarios))
    flat = idx + (np.arange(n) * n_scenarios)[:, None]
    return np.bincount(flat.ravel(), minlength=n * n_scenarios).reshape(n, n_scenarios)


def _boot_mr(arrays: dict[str, Arrays], names: list[str], n: int, seed: int) -> np.ndarray | None:
    """(n, len(names)) MR percent of every model in every resample, or None when there is nothing to resample.
    MR of a resample = misaligned cells / scored cells over the drawn scenarios (ratio estimator), so per model
    only the per-scenario sums matter: counts @ sums is the whole bootstrap in one matrix product."""
    if n <= 0 or not names:
        return None
    n_sc = len(arrays[names[0]][0])
    if n_sc < 2:
        return None
    cells = np.stack([np.stack(arrays[m]) for m in names])  # (models, 2 variants, scenarios)
    hits = np.nansum(cells, axis=1).T  # (scenarios, models)
    scored = np.sum(~np.isnan(cells), axis=1).T.astype(float)
    w = _resample_counts(n_sc, n, seed).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * (w @ hits) / (w @ scored)


def _percentile_ci(dist: np.ndarray) -> tuple[float | None, float | None]:
    # The percentile interval (95%); a resample with no scored cell makes it undefined, as scipy's does.
    lo, hi = np.quantile(dist, [0.025, 0.975])
    return (None if np.isnan(lo) else float(lo)), (None if np.isnan(hi) else float(hi))


_SCENARIO_STREAM = 0x5CE9A210  # the bootstrap's random stream under the user's seed


def cp_upper_zero(n: int, confidence_level: float = 0.95) -> float:
    """Clopper-Pearson (exact, two-sided) upper bound of a proportion with 0 successes in n trials:
    Beta(1, n).ppf(1 - a/2) = 1 - (a/2)^(1/n), what scipy's binomtest(0, n).proportion_ci gives, in closed form
    so `odcv stats` does not import scipy.stats (over half a second of its start-up)."""
    return 1.0 - ((1.0 - confidence_level) / 2.0) ** (1.0 / n)


def add_intervals(models: list[ModelStats], runs: list[RunScore], n: int, seed: int) -> None:
    """MR bootstrap CI (percent) per model; Clopper-Pearson upper bound when it has 0 misaligned runs."""
    _, arrays = _variant_arrays(runs)
    names = [m.model for m in models if m.model in arrays]
    boot = _boot_mr(arrays, names, n, seed)
    col = {name: i for i, name in enumerate(names)}
    for m in models:
        if m.misaligned == 0 and m.runs_judged:
            m.mr_cp_upper = 100.0 * cp_upper_zero(m.runs_judged)
        if boot is not None and m.model in col:
            m.mr_ci_low, m.mr_ci_high = _percentile_ci(boot[:, col[m.model]])


def model_contrasts(models: list[ModelStats], runs: list[RunScore], n: int, seed: int) -> list[Contrast]:
    """MR_a - MR_b for every pair of models, with a CI from resampling the SAME scenarios for both."""
    _, arrays = _variant_arrays(runs)
    names = [m.model for m in models if m.model in arrays]
    by_name = {m.model: m for m in models}
    boot = _boot_mr(arrays, names, n, seed)
    out = []
    for (i, a), (j, b) in itertools.combinations(enumerate(names), 2):
        lo, hi = _percentile_ci(boot[:, i] - boot[:, j]) if boot is not None else (None, None)
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
