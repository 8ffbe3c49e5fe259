"""learned: a surrogate ranker fitted on candidates whose accuracy is known.

Features of a candidate: log2(1 + n) of its cheap analytic scores and estimates (ReLU units,
params, MACs, flash bytes, arena bytes, μNAS peak bytes; all estimated, no tensors) followed by
``encode(arch)``. A scikit-learn GradientBoostingRegressor maps them to accuracy; the score is
the *predicted* accuracy (higher = better), in the units of the accuracies it was fitted on.
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
                 max_depth: int = 3, random_state: int = 0) -> None:
        self._params = {"n_estimators": n_estimators, "learning_rate": learning_rate,
                        "max_depth": max_depth, "random_state": random_state}
        self._model: Any = None

    @property
    def fitted(self) -> bool:
        return self._model is not None

    def fit(self, archs: Sequence[Architecture], accuracies: Sequence[float]) -> LearnedMetric:
        """Fits the regressor on candidates and their accuracies; returns self.

        Raises:
            MetricError: Fewer than 2 candidates, lengths that differ, or a non-finite accuracy.
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
        model = GradientBoostingRegressor(**self._params)
        self._model = model.fit(np.stack([features(a) for a in archs]), y)
        return self

    def score_population(
        self, archs: Sequence[Architecture], batch: Batch | None = None, seed: int = 0
    ) -> list[float]:
        """Predicted accuracies of `archs`, in one call of the regressor."""
        if not archs:
            return []
        model = self._require_model()
        return [float(v) for v in model.predict(np.stack([features(a) for a in archs]))]

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        return float(self._require_model().predict(features(arch)[None, :])[0])

    def _require_model(self) -> Any:
        if self._model is None:
            raise NotFittedError(
                "metric 'learned' is not fitted; call fit(archs, accuracies) with trained "
                "candidates first"
            )
        return self._model
