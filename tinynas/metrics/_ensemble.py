"""ensemble: rank aggregation of several metrics over a population of candidates.

Scores of different metrics live on different scales (naswot is a log-determinant, params a
count), so they are combined by rank. Over a population of n candidates each member metric
ranks them (rank 1 = lowest score, ties get their average rank), the rank is normalised to
(r - 1) / (n - 1) in [0, 1], and a candidate's score is the mean of its normalised ranks over
the members: 1.0 means best by every member, 0.0 worst by every member. A population of one
scores 0.5.

``score_population`` ranks the candidates it is given against each other. ``score`` ranks one
candidate against a reference population set by ``set_reference`` (the candidate joins the
population for the ranking); without a reference it is a population of one and scores 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinynas.metrics._base import (
    COSTS,
    BaseMetric,
    Batch,
    MetricError,
    get_metric,
    register,
)
from tinynas.space import Architecture

DEFAULT_MEMBERS = ("naswot", "relu_count", "params")


def normalised_ranks(scores: Sequence[float]) -> np.ndarray:
    """(r - 1) / (n - 1) of each score, r its rank (1 = lowest, ties averaged); 0.5 if n = 1."""
    from scipy.stats import rankdata

    if len(scores) == 1:
        return np.array([0.5])
    ranks = rankdata(np.asarray(scores, dtype=np.float64), method="average")
    return (ranks - 1) / (len(scores) - 1)


def mean_rank(table: Sequence[Sequence[float]]) -> list[float]:
    """The ensemble score of each candidate from a table of scores (one row per metric)."""
    return [float(v) for v in np.mean([normalised_ranks(row) for row in table], axis=0)]


@register
class EnsembleMetric(BaseMetric):
    """The mean normalised rank of a population under several metrics (module docstring).

    Args:
        metrics: Member metrics, by registry name or as metric objects (a fitted learned
            metric, a penalised count with options).

    ``needs_data`` is True when any member needs data; ``cost`` is the dearest member's.
    """

    name = "ensemble"
    needs_data = True
    cost = "forward"
    description = "mean normalised rank under several metrics over a population"

    def __init__(self, metrics: Sequence[str | BaseMetric] = DEFAULT_MEMBERS) -> None:
        if isinstance(metrics, str) or not metrics:
            raise MetricError(f"ensemble needs a list of metrics; got {metrics!r}")
        self.members = [get_metric(m) if isinstance(m, str) else m for m in metrics]
        self.needs_data = any(m.needs_data for m in self.members)  # type: ignore[misc]
        self.cost = max((m.cost for m in self.members), key=COSTS.index)  # type: ignore[misc]
        self._reference: list[list[float]] | None = None

    def set_reference(
        self, archs: Sequence[Architecture], batch: Batch | None = None, seed: int = 0
    ) -> None:
        """Scores the population that `score` ranks single candidates against."""
        self._reference = self._table(archs, batch, seed)

    def score_population(
        self, archs: Sequence[Architecture], batch: Batch | None = None, seed: int = 0
    ) -> list[float]:
        """The mean normalised rank of each of `archs` within `archs`."""
        if not archs:
            return []
        return mean_rank(self._table(archs, batch, seed))

    def _table(
        self, archs: Sequence[Architecture], batch: Batch | None, seed: int
    ) -> list[list[float]]:
        return [m.score_population(archs, batch, seed) for m in self.members]

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        if self._reference is None:
            return 0.5
        ranks = [
            normalised_ranks([*row, member.score(arch, batch, seed)])[-1]
            for member, row in zip(self.members, self._reference, strict=True)
        ]
        return float(np.mean(ranks))
