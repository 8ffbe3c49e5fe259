"""Rank statistics of a proxy validation: signed Kendall tau and Spearman rho (scipy.stats),
bootstrap confidence intervals of tau, paired differences of tau, and the noise ceiling.

Signs are kept: a metric that ranks the wrong way has a negative tau (public implementations
disagree on signs; reference/search-and-metrics.md section 3). A score that is NaN (a metric
that failed on an architecture) drops that architecture from that metric's pairs; infinite
scores are ordinary ranks (``-inf`` below everything).

Bootstrap: architectures are resampled with replacement (``RESAMPLES`` times, seeded); every
metric is correlated on the same resamples, so the difference of two metrics' tau has a paired
interval. Intervals are percentile intervals at ``LEVEL``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
CHUNK_ELEMENTS = 4_000_000  # pair signs computed at once in the bootstrap (memory bound)

ArrayLike = Sequence[float] | np.ndarray


@dataclass(frozen=True)
class Correlation:
    """Rank correlation of one column with a target, with the bootstrap interval of tau."""

    tau: float  # signed Kendall tau-b
    tau_low: float  # bootstrap percentile interval of tau at LEVEL
    tau_high: float
    rho: float  # signed Spearman rho
    pairs: int  # architectures with a finite-or-infinite (not NaN) score and accuracy

    @property
    def half_width(self) -> float:
        """Half the width of tau's interval."""
        return (self.tau_high - self.tau_low) / 2


@dataclass(frozen=True)
class Difference:
    """tau(a) - tau(b) on the same architectures, with its paired bootstrap interval."""

    delta: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """Whether the whole interval lies above zero (a beats b)."""
        return self.low > 0


def _pairs(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """`x` and `y` as float64 without the positions where either is NaN."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"rank correlation needs two 1-D arrays of one length; got "
                         f"{a.shape} and {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def _degenerate(a: np.ndarray, b: np.ndarray) -> bool:
    """Fewer than two pairs, or a side with a single value: no correlation is defined."""
    return len(a) < 2 or bool(np.all(a == a[0])) or bool(np.all(b == b[0]))


def kendall_tau(x: ArrayLike, y: ArrayLike) -> float:
    """Signed Kendall tau-b of `x` against `y` (NaN where undefined)."""
    from scipy.stats import kendalltau

    a, b = _pairs(x, y)
    if _degenerate(a, b):
        return math.nan
    return float(kendalltau(a, b).statistic)


def spearman_rho(x: ArrayLike, y: ArrayLike) -> float:
    """Signed Spearman rho of `x` against `y` (NaN where undefined)."""
    from scipy.stats import spearmanr

    a, b = _pairs(x, y)
    if _degenerate(a, b):
        return math.nan
    return float(spearmanr(a, b).statistic)


def resample_indices(n: int, resamples: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(resamples, n) indices drawn with replacement from range(n), seeded."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def bootstrap_taus(
    columns: Mapping[str, ArrayLike], target: ArrayLike, resamples: int = RESAMPLES,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """tau of every column against `target` on the same `resamples` bootstrap resamples.

    Returns:
        Column name -> array of `resamples` taus (NaN for a degenerate resample).
    """
    y = _ranks(target)
    indices = resample_indices(len(y), resamples, seed)
    out = {}
    for name, column in columns.items():
        x = _ranks(column)
        out[name] = np.concatenate([tau_b_rows(x[chunk], y[chunk])
                                    for chunk in np.array_split(indices, _chunks(indices))])
    return out


def _chunks(indices: np.ndarray) -> int:
    """How many pieces to cut the resamples into so that one piece's pair signs stay near
    ``CHUNK_ELEMENTS`` numbers."""
    resamples, n = indices.shape
    return max(1, min(resamples, resamples * n * n // CHUNK_ELEMENTS))


def _ranks(values: ArrayLike) -> np.ndarray:
    """Average ranks of the non-NaN values (NaN stays NaN); infinities become plain ranks."""
    from scipy.stats import rankdata

    v = np.asarray(values, dtype=np.float64)
    out = np.full(v.shape, np.nan)
    keep = ~np.isnan(v)
    out[keep] = rankdata(v[keep])
    return out


def tau_b_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b of each row of `x` against the same row of `y` (R, n), vectorised.

    With s_ij = sign(x_i - x_j) and t_ij = sign(y_i - y_j) over pairs where neither sample is
    NaN, tau-b = sum s t / sqrt(sum s^2 * sum t^2): concordant minus discordant pairs over the
    geometric mean of the pairs untied in x and in y, which is scipy's tau-b. NaN where
    undefined (a side without an untied pair).
    """
    valid = ~(np.isnan(x) | np.isnan(y))
    x, y = np.where(valid, x, 0.0), np.where(valid, y, 0.0)
    weight = valid[:, :, None] & valid[:, None, :]
    s = np.sign(x[:, :, None] - x[:, None, :]) * weight
    t = np.sign(y[:, :, None] - y[:, None, :]) * weight
    denominator = np.sqrt((s * s).sum((1, 2)) * (t * t).sum((1, 2)))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = (s * t).sum((1, 2)) / denominator
    return np.where(denominator > 0, tau, np.nan)


def interval(samples: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of the finite `samples` ((NaN, NaN) when there are none)."""
    finite = samples[np.isfinite(samples)]
    if len(finite) == 0:
        return math.nan, math.nan
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def correlate(x: ArrayLike, y: ArrayLike, boot: np.ndarray) -> Correlation:
    """tau and rho of `x` against `y`, with tau's interval from its bootstrap taus `boot`."""
    low, high = interval(boot)
    return Correlation(kendall_tau(x, y), low, high, spearman_rho(x, y), len(_pairs(x, y)[0]))


def paired_difference(tau_a: float, tau_b: float, boot_a: np.ndarray,
                      boot_b: np.ndarray) -> Difference:
    """tau_a - tau_b with the interval of the resample-by-resample differences."""
    low, high = interval(boot_a - boot_b)
    return Difference(tau_a - tau_b, low, high)


def noise_ceiling(first: ArrayLike, second: ArrayLike, resamples: int = RESAMPLES,
                  seed: int = 0) -> Correlation:
    """The rank agreement of training with itself: tau between two trainings (different
    seeds) of the same architectures; no ranker of single trainings is expected to beat it."""
    boot = bootstrap_taus({"run": first}, second, resamples, seed)["run"]
    return correlate(first, second, boot)
