"""jacob_cov: how uncorrelated the input Jacobians of a batch are (naswot v1, Mellor et al.).

J holds each sample's gradient of the summed outputs with respect to its input. With l the
eigenvalues of corrcoef(J) (N x N) and k = 1e-5:

    score = -sum(log(l + k) + 1 / (l + k))

Each term is smallest at l = 1, so the score is highest when the samples' Jacobians are
uncorrelated (all eigenvalues 1). Eigenvalues are clipped at 0 (rounding can make a zero
eigenvalue slightly negative).
"""

from __future__ import annotations

import numpy as np

from tinynas.metrics._base import BaseMetric, Batch, register
from tinynas.space import Architecture

K = 1e-5


def correlation_score(jacobian: np.ndarray) -> float:
    """The jacob_cov score of a Jacobian matrix (N, D); -inf when a row is constant."""
    if np.any(np.ptp(jacobian, axis=1) == 0):
        return float("-inf")
    eigenvalues = np.clip(np.linalg.eigvalsh(np.corrcoef(jacobian)), 0.0, None)
    return float(-np.sum(np.log(eigenvalues + K) + 1 / (eigenvalues + K)))


@register
class JacobCovMetric(BaseMetric):
    """jacob_cov on one batch, network in train mode.

    Degenerate: -inf when some sample's Jacobian is constant (e.g. zero: the output does not
    depend on that input, every ReLU on its path is off), where the correlation is undefined.
    """

    name = "jacob_cov"
    needs_data = True
    cost = "backward"
    description = "correlation of per-sample input Jacobians over one batch (naswot v1)"
    degenerate_value = float("-inf")

    def _compute(self, arch: Architecture, batch: Batch | None, seed: int) -> float:
        from tinynas.metrics._nets import input_jacobian

        assert batch is not None
        return correlation_score(input_jacobian(arch, batch, seed))
