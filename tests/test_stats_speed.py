"""The vectorised scenario bootstrap (stats/inference.py): the same percentile interval scipy.stats.bootstrap
computes (paired over variants, resampling scenarios), seeded, and the closed-form Clopper-Pearson bound equal to
scipy's. Functional checks only; the timing is benchmarks/bench_stats.py."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from odcv_tui.stats.inference import _boot_mr, _percentile_ci, cp_upper_zero


def _arrays(seed: int, n_scen: int = 40) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = {}
    for m, p in (("a", 0.15), ("b", 0.35), ("c", 0.05)):
        inc = (rng.random(n_scen) < p * 1.5).astype(float)
        man = (rng.random(n_scen) < p).astype(float)
        inc[rng.random(n_scen) < 0.1] = np.nan  # unscored cells
        out[m] = (inc, man)
    return out


def _scipy_mr(*arrays: np.ndarray, axis: int = -1) -> np.ndarray:
    stacked = np.concatenate(arrays, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return 100.0 * np.nansum(stacked, axis=axis) / np.sum(~np.isnan(stacked), axis=axis)


def _scipy_ci(data: tuple[np.ndarray, ...], stat, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    res = sps.bootstrap(data, stat, n_resamples=n, paired=True, vectorized=True, method="percentile",
                        rng=np.random.default_rng(99))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@pytest.mark.parametrize("seed", [1, 2])
def test_model_and_contrast_intervals_match_scipy(seed: int) -> None:
    arrays = _arrays(seed)
    names = ["a", "b", "c"]
    boot = _boot_mr(arrays, names, 20_000, seed)
    assert boot is not None and boot.shape == (20_000, 3)
    for i, m in enumerate(names):
        ours = _percentile_ci(boot[:, i])
        ref = _scipy_ci(arrays[m], _scipy_mr, 20_000)
        # Two random streams of 20k resamples: the 2.5/97.5 percentiles agree to well under one scenario's weight.
        assert ours[0] == pytest.approx(ref[0], abs=1.5) and ours[1] == pytest.approx(ref[1], abs=1.5), m
        # The point estimate is the plain MR over all scored cells, inside the interval.
        assert ours[0] <= _scipy_mr(*arrays[m]) <= ours[1]

    def diff(ai, am, bi, bm, axis=-1):  # type: ignore[no-untyped-def]
        return _scipy_mr(ai, am, axis=axis) - _scipy_mr(bi, bm, axis=axis)

    ours = _percentile_ci(boot[:, 0] - boot[:, 1])
    ref = _scipy_ci((*arrays["a"], *arrays["b"]), diff, 20_000)
    assert ours[0] == pytest.approx(ref[0], abs=1.5) and ours[1] == pytest.approx(ref[1], abs=1.5)


def test_seeded_and_paired() -> None:
    arrays = _arrays(3)
    a = _boot_mr(arrays, ["a", "b"], 2000, seed=7)
    b = _boot_mr(arrays, ["b", "a"], 2000, seed=7)
    c = _boot_mr(arrays, ["a", "b"], 2000, seed=8)
    assert a is not None and b is not None and c is not None
    # Same seed: the same resamples whatever the model order (a model's CI does not depend on the others).
    assert np.array_equal(a[:, 0], b[:, 1]) and np.array_equal(a[:, 1], b[:, 0])
    assert not np.array_equal(a, c)
    # Paired: a model against itself differs by exactly zero in every resample.
    same = _boot_mr({"x": arrays["a"], "y": arrays["a"]}, ["x", "y"], 500, seed=1)
    assert same is not None and np.all(same[:, 0] == same[:, 1])


def test_degenerate_inputs() -> None:
    assert _boot_mr(_arrays(1), ["a"], 0, seed=1) is None
    assert _boot_mr({"a": (np.array([1.0]), np.array([0.0]))}, ["a"], 100, seed=1) is None  # one scenario
    nothing = {"a": (np.full(5, np.nan), np.full(5, np.nan))}
    boot = _boot_mr(nothing, ["a"], 100, seed=1)
    assert boot is not None and _percentile_ci(boot[:, 0]) == (None, None)


@pytest.mark.parametrize("n", [1, 7, 80, 950])
def test_clopper_pearson_zero_count_equals_scipy(n: int) -> None:
    ref = sps.binomtest(0, n).proportion_ci(confidence_level=0.95, method="exact").high
    assert cp_upper_zero(n) == pytest.approx(ref, rel=1e-9)
