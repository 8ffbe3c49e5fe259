"""The rankers a validation builds from its kept rows: the learned surrogate and the ensemble.

The learned ranker (``tinynas.metrics.LearnedMetric``) is judged out of fold: the trained
architectures are split into ``FOLDS`` seeded folds, it is fitted on four fifths and predicts
the held-out fifth, and tau is taken over all out-of-fold predictions. Its learning curve fits
on ``CURVE_SIZES`` trained architectures (``CURVE_REPEATS`` seeded draws each) and correlates
on all the others, so one can read how many trained architectures it needs.

The ensemble is ``tinynas.metrics.mean_rank`` of the default members that were validated; a
member that failed on an architecture (NaN) ranks it last.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from tinynas.proxies._stats import kendall_tau
from tinynas.space import Architecture

FOLDS = 5
CURVE_SIZES = (25, 50, 100)
CURVE_REPEATS = 5
MIN_HELD_OUT = 10  # a curve point needs at least this many architectures to correlate on


@dataclass(frozen=True)
class OutOfFold:
    """Out-of-fold predictions of the learned ranker (predicted accuracies)."""

    predictions: np.ndarray
    folds: int
    train_size: int  # architectures each fold's model was fitted on (the smallest fold's)
    fit_seconds: float  # measured, all folds together
    predict_ms: float  # measured, per architecture


def cross_validated(archs: Sequence[Architecture], accuracies: Sequence[float] | np.ndarray,
                    folds: int = FOLDS, seed: int = 0, proxies: Sequence[str] = (),
                    proxy_scores: np.ndarray | None = None) -> OutOfFold | None:
    """k-fold out-of-fold predictions; None with fewer than `folds` + 1 architectures. With
    `proxies`, `proxy_scores` holds their scores of every architecture (one column each)."""
    from sklearn.model_selection import KFold

    from tinynas.metrics import get_metric

    n = len(archs)
    if n <= folds:
        return None
    y = np.asarray(accuracies, dtype=np.float64)
    scores = _scores(n, proxies, proxy_scores)
    predictions = np.full(n, math.nan)
    fit_s, predict_s, train_size = 0.0, 0.0, n
    for train, held in KFold(folds, shuffle=True, random_state=seed).split(np.arange(n)):
        start = time.perf_counter()
        model = get_metric("learned", random_state=seed, proxies=proxies)
        model.fit([archs[i] for i in train], y[train],  # type: ignore[attr-defined]
                  scores[train])
        middle = time.perf_counter()
        predictions[held] = model.predict_with(  # type: ignore[attr-defined]
            [archs[i] for i in held], scores[held])
        fit_s += middle - start
        predict_s += time.perf_counter() - middle
        train_size = min(train_size, len(train))
    return OutOfFold(predictions, folds, train_size, fit_s, predict_s * 1000 / n)


def _scores(n: int, proxies: Sequence[str], proxy_scores: np.ndarray | None) -> np.ndarray:
    if not proxies:
        return np.zeros((n, 0))
    if proxy_scores is None or np.shape(proxy_scores) != (n, len(proxies)):
        raise ValueError("the learned ranker's proxies need one score column each")
    return np.asarray(proxy_scores, dtype=np.float64)


def learning_curve(archs: Sequence[Architecture], accuracies: Sequence[float] | np.ndarray,
                   sizes: Sequence[int] = CURVE_SIZES, repeats: int = CURVE_REPEATS,
                   seed: int = 0, proxies: Sequence[str] = (),
                   proxy_scores: np.ndarray | None = None) -> dict[int, float]:
    """Mean held-out tau of the learned ranker fitted on each of `sizes` architectures.

    Sizes that would leave fewer than ``MIN_HELD_OUT`` architectures to correlate on are
    left out.
    """
    from tinynas.metrics import get_metric

    y = np.asarray(accuracies, dtype=np.float64)
    scores = _scores(len(archs), proxies, proxy_scores)
    rng = np.random.default_rng(seed)
    curve = {}
    for size in sizes:
        if size < 2 or len(archs) - size < MIN_HELD_OUT:
            continue
        taus = []
        for _ in range(repeats):
            order = rng.permutation(len(archs))
            fit, held = order[:size], order[size:]
            model = get_metric("learned", random_state=seed, proxies=proxies)
            model.fit([archs[i] for i in fit], y[fit], scores[fit])  # type: ignore[attr-defined]
            predicted = model.predict_with(  # type: ignore[attr-defined]
                [archs[i] for i in held], scores[held])
            taus.append(kendall_tau(predicted, y[held]))
        curve[size] = float(np.nanmean(taus))
    return curve


def ensemble_column(columns: Mapping[str, Sequence[float] | np.ndarray],
                    members: Sequence[str]) -> np.ndarray:
    """The mean normalised rank of each architecture under `members` (NaN ranks last)."""
    from tinynas.metrics import mean_rank

    table = [np.nan_to_num(np.asarray(columns[m], dtype=np.float64), nan=-np.inf)
             for m in members]
    return np.asarray(mean_rank([list(row) for row in table]), dtype=np.float64)
