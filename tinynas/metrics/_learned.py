"""learned: a surrogate ranker fitted on candidates whose accuracy is known.

Features of a candidate: log2(1 + n) of its cheap analytic scores and estimates (ReLU units,
params, MACs, flash bytes, arena bytes, μNAS peak bytes; all estimated, no tensors) followed by
``encode(arch)`` and, when the ranker is given ``proxies``, those trainingless metrics' scores
(as sign(s) log(1 + |s|): some span many orders of magnitude; a failed score takes the lowest
value seen in the fit, less one). A scikit-learn GradientBoostingRegressor maps them to
accuracy; the score is the *predicted* accuracy (higher = better), in the units of the
accuracies it was fitted on. With proxies the ranker needs the metric batch, as they do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinynas.estimators import estimate
from tinynas.metrics._base import BaseMetric, Batch, MetricError, NotFittedError, register
from tinynas.metrics._encoding import encode, encoding_names
from tinynas.metrics._relu_count import relu_units
from tinynas.space import Architecture

CHEAP_FEATURES = ("relu_units", "params", "macs", "flash_bytes", "arena_bytes",
                  "unas_peak_bytes")


def feature_names() -> tuple[str, ...]:
    """The name of each entry of ``features``'s vector."""
    return tuple(f"log2_{n}" for n in CHEAP_FEATURES) + encoding_names()


def features(arch: Architecture) -> np.ndarray:
    """The learned ranker's input vector of `arch` (float64)."""
    est = estimate(arch)
    cheap = (relu_units(arch), est.params, est.macs, est.flash_bytes, est.arena_bytes,
             est.unas_peak_bytes)
    return np.concatenate([[math.log2(1 + v) for v in cheap], encode(arch)])


@register
class LearnedMetric(BaseMetric):
    """Gradient-boosted regression of accuracy on analytic features (module docstring).

    Args:
        n_estimators, learning_rate, max_depth: Those of the GradientBoostingRegressor.
        random_state: Seeds the regressor, so the same fit gives the same model.

    Call ``fit(archs, accuracies)`` first; ``score`` raises ``NotFittedError`` before.
    """

    name = "learned"
    needs_data = False
    cost = "fitted"
    description = "gradient-boosted surrogate of accuracy, fitted on trained candidates"

    def __init__(self, n_estimators: int = 300, learning_rate: float = 0.05,
                 max_depth: int = 3, random_state: int = 0,
                 proxies: Sequence[str] = ()) -> None:
        self._params = {"n_estimators": n_estimators, "learning_rate": learning_rate,
                        "max_depth": max_depth, "random_state": random_state}
        self.proxies = tuple(proxies)
        self._model: Any = None
        self._failed: np.ndarray = np.zeros(len(self.proxies))  # a failed proxy's feature

    def score(self, arch: Architecture, batch: Batch | None = None, seed: int = 0) -> float:
        return self.score_population([arch], batch, seed)[0]

    def proxy_scores(self, archs: Sequence[Architecture], batch: Batch | None,
                     seed: int) -> np.ndarray:
        """The proxies' scores of `archs` on `batch`, (len(archs), len(proxies))."""
        from tinynas.metrics._base import get_metric

        if not self.proxies:
            return np.zeros((len(archs), 0))
        if batch is None:
            raise MetricError(f"learned: its proxies ({', '.join(self.proxies)}) need a batch "
                              "of the data to score on")
        metrics = [get_metric(name) for name in self.proxies]

        def one(metric: BaseMetric, arch: Architecture) -> float:
            try:
                return metric.score(arch, batch, seed)
            except MetricError:  # a failed proxy is a feature value of its own (_failed)
                return math.nan

        return np.array([[one(m, arch) for m in metrics] for arch in archs],
                        dtype=np.float64).reshape(len(archs), len(metrics))

    def _matrix(self, archs: Sequence[Architecture], proxy_scores: np.ndarray) -> np.ndarray:
        signed = np.sign(proxy_scores) * np.log1p(np.abs(proxy_scores))
        signed = np.where(np.isfinite(signed), signed, self._failed[None, :])
        return np.concatenate([np.stack([features(a) for a in archs]), signed], axis=1)

    @property
    def fitted(self) -> bool:
        return self._model is not None

    def fit(self, archs: Sequence[Architecture], accuracies: Sequence[float],
            proxy_scores: Any = None) -> LearnedMetric:
        """Fits the regressor on candidates and their accuracies (and, with proxies, the
        proxies' scores of each candidate, shape (len(archs), len(proxies))); returns self.

        Raises:
            MetricError: Fewer than 2 candidates, lengths that differ, a non-finite accuracy,
                or proxies without their scores.
        """
        from sklearn.ensemble import GradientBoostingRegressor

        y = np.asarray(accuracies, dtype=np.float64)
        if len(archs) != len(y) or len(y) < 2:
            raise MetricError(
                f"learned: fit needs at least 2 candidates and one accuracy each; got "
                f"{len(archs)} candidates and {len(y)} accuracies"
            )
        if not np.all(np.isfinite(y)):
            raise MetricError("learned: fit got a non-finite accuracy; drop failed trainings")
        scores = np.zeros((len(archs), 0)) if proxy_scores is None else \
            np.asarray(proxy_scores, dtype=np.float64).reshape(len(archs), -1)
        if scores.shape[1] != len(self.proxies):
            raise MetricError(f"learned: fit needs the scores of its proxies "
                              f"({', '.join(self.proxies) or 'none'}) for every candidate")
        signed = np.sign(scores) * np.log1p(np.abs(scores))
        finite = np.where(np.isfinite(signed), signed, np.inf)
        self._failed = np.array([col.min() - 1.0 if np.isfinite(col.min()) else 0.0
                                 for col in finite.T])
        model = GradientBoostingRegressor(**self._params)
        self._model = model.fit(self._matrix(archs, scores), y)
        return self

    def score_population(
        self, archs: Sequence[Architecture], batch: Batch | None = None, seed: int = 0
    ) -> list[float]:
        """Predicted accuracies of `archs`, in one call of the regressor."""
        if not archs:
            return []
        return self.predict_with(archs, self.proxy_scores(archs, batch, seed))

    def predict_with(self, archs: Sequence[Architecture], proxy_scores: Any) -> list[float]:
        """Predicted accuracies of `archs` from their proxies' scores already computed
        (shape (len(archs), len(proxies)))."""
        model = self._require_model()
        scores = np.asarray(proxy_scores, dtype=np.float64).reshape(len(archs), -1)
        return [float(v) for v in model.predict(self._matrix(archs, scores))]

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        return self.score_population([arch], batch, seed)[0]

    def _require_model(self) -> Any:
        if self._model is None:
            raise NotFittedError(
                "metric 'learned' is not fitted; call fit(archs, accuracies) with trained "
                "candidates first"
            )
        return self._model
