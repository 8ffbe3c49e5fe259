"""Rank statistics on cases that can be worked out by hand, and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from tinynas.proxies import (
    bootstrap_taus,
    correlate,
    interval,
    kendall_tau,
    noise_ceiling,
    paired_difference,
    spearman_rho,
)
from tinynas.proxies._stats import _ranks, resample_indices, tau_b_rows


def test_kendall_tau_of_hand_worked_orders() -> None:
    assert kendall_tau([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # one discordant pair of six: (5 - 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(2 / 3)


def test_spearman_rho_of_hand_worked_orders() -> None:
    # one adjacent swap: 1 - 6 * sum d^2 / (n (n^2 - 1)) = 1 - 6 * 2 / 60
    assert spearman_rho([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(0.8)
    assert spearman_rho([3, 2, 1], [1, 2, 3]) == pytest.approx(-1.0)


def test_nan_scores_drop_their_architecture_and_infinities_rank() -> None:
    # without the NaN pair the orders agree; -inf is the lowest score
    assert kendall_tau([math.nan, -math.inf, 1, 2], [0.9, 0.1, 0.2, 0.3]) == pytest.approx(1.0)
    assert spearman_rho([1, math.nan, 3, 2], [1, 5, 3, 2]) == pytest.approx(1.0)


def test_undefined_correlations_are_nan() -> None:
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))  # constant scores
    assert math.isnan(kendall_tau([1.0, math.nan], [1.0, 2.0]))  # one pair left
    assert math.isnan(spearman_rho([1, 2, 3], [5, 5, 5]))


def test_vectorised_tau_b_equals_scipy_with_ties_and_nans() -> None:
    rng = np.random.default_rng(7)
    x = rng.integers(0, 5, 30).astype(float)  # many ties
    y = rng.integers(0, 8, 30).astype(float)
    x[[2, 11]] = math.nan
    idx = resample_indices(30, 40, seed=1)
    ours = tau_b_rows(_ranks(x)[idx], _ranks(y)[idx])
    theirs = []
    for i in idx:
        keep = ~np.isnan(x[i])
        theirs.append(kendalltau(x[i][keep], y[i][keep]).statistic)
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_bootstrap_of_a_perfect_ranker_is_one_and_seeded() -> None:
    x = np.arange(20.0)
    boot = bootstrap_taus({"perfect": x, "noisy": np.sin(x)}, x, 200, seed=3)
    assert boot["perfect"].shape == (200,)
    assert interval(boot["perfect"]) == (pytest.approx(1.0), pytest.approx(1.0))
    again = bootstrap_taus({"noisy": np.sin(x)}, x, 200, seed=3)["noisy"]
    np.testing.assert_array_equal(again, boot["noisy"])
    other = bootstrap_taus({"noisy": np.sin(x)}, x, 200, seed=4)["noisy"]
    assert not np.array_equal(other, boot["noisy"])


def test_interval_is_the_central_percentile_range() -> None:
    samples = np.concatenate([np.arange(1001.0), [math.nan]])  # 0..1000, NaN ignored
    low, high = interval(samples, level=0.9)
    assert (low, high) == (pytest.approx(50.0), pytest.approx(950.0))
    assert all(math.isnan(v) for v in interval(np.array([math.nan])))


def test_correlate_reports_tau_rho_pairs_and_interval() -> None:
    x, y = [1, 2, 3, 4, math.nan], [1, 2, 4, 3, 0]
    c = correlate(x, y, np.array([0.2, 0.4, 0.6, 0.8, math.nan]))
    assert c.tau == pytest.approx(kendalltau([1, 2, 3, 4], [1, 2, 4, 3]).statistic)
    assert c.rho == pytest.approx(spearmanr([1, 2, 3, 4], [1, 2, 4, 3]).statistic)
    assert c.pairs == 4
    assert c.tau_low < c.tau_high and c.half_width == pytest.approx((c.tau_high - c.tau_low) / 2)


def test_paired_difference_is_significant_only_above_zero() -> None:
    better = paired_difference(0.6, 0.3, np.array([0.5, 0.6, 0.7]), np.array([0.3, 0.3, 0.3]))
    assert better.delta == pytest.approx(0.3) and better.significant
    overlap = paired_difference(0.4, 0.3, np.array([0.2, 0.4, 0.6]), np.array([0.3, 0.3, 0.3]))
    assert overlap.low < 0 and not overlap.significant


def test_noise_ceiling_is_the_tau_between_two_runs() -> None:
    first = [0.80, 0.82, 0.85, 0.70, 0.90]
    second = [0.81, 0.80, 0.86, 0.72, 0.88]  # one swap of five: tau (9 - 1) / 10
    ceiling = noise_ceiling(first, second, resamples=100, seed=0)
    assert ceiling.tau == pytest.approx(0.8)
    assert ceiling.pairs == 5
    assert -1 <= ceiling.tau_low <= ceiling.tau_high <= 1
    assert noise_ceiling(first, first, 100).tau == pytest.approx(1.0)
