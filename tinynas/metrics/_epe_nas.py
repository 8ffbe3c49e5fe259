"""epe_nas: per-class correlation of input Jacobians (Lopes et al. 2021, EPE-NAS).

J is jacob_cov's Jacobian. For each class c seen in the batch, with J_c the rows of its
samples and k = 1e-5:

    s_c = sum over entries of log(|corrcoef(J_c)| + k)     (divided by its size if > 100 classes)
    score = sum_c |s_c|                                     for <= 100 classes
    score = sum_c sum_c' |s_c - s_c'| / (classes seen)      for > 100 classes

Samples of a class whose Jacobians are uncorrelated make s_c very negative, so a higher score
means inputs of one class are told apart better. A class with one sample has corrcoef = 1 and
adds about 1e-5.
"""

from __future__ import annotations

import numpy as np

from tinynas.metrics._base import BaseMetric, Batch, register
from tinynas.space import Architecture

K = 1e-5
MANY_CLASSES = 100


def class_scores(jacobian: np.ndarray, labels: np.ndarray, normalise: bool) -> list[float]:
    """s_c of every class with defined correlations (a class with a constant row is skipped)."""
    out = []
    for c in np.unique(labels):
        rows = jacobian[labels == c]
        if np.any(np.ptp(rows, axis=1) == 0):
            continue  # corrcoef is undefined (NaN) for a constant row
        corr = np.atleast_2d(np.corrcoef(rows))
        s = float(np.sum(np.log(np.abs(corr) + K)))
        out.append(s / len(corr) if normalise else s)
    return out


def combine(scores: list[float], many_classes: bool) -> float:
    """The EPE-NAS score from the per-class scores (0.0 when there are none)."""
    if not scores:
        return 0.0
    s = np.asarray(scores)
    if not many_classes:
        return float(np.sum(np.abs(s)))
    return float(np.sum(np.abs(s[:, None] - s[None, :])) / len(s))


@register
class EpeNasMetric(BaseMetric):
    """epe_nas on one batch, network in train mode.

    Degenerate: classes whose correlation is undefined (a constant Jacobian row) are left out;
    with none left the score is 0.0, the lowest value a score can take.
    """

    name = "epe_nas"
    needs_data = True
    cost = "backward"
    description = "per-class correlation of input Jacobians over one batch (Lopes et al. 2021)"

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        from tinynas.metrics._nets import input_jacobian

        assert batch is not None
        many = arch.num_classes > MANY_CLASSES
        scores = class_scores(input_jacobian(arch, batch, seed), batch[1], normalise=many)
        return combine(scores, many)
