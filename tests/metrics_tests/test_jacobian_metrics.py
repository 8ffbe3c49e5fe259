"""jacob_cov, epe_nas and zen on hand-computable cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from tinynas.metrics import get_metric
from tinynas.metrics._epe_nas import class_scores, combine
from tinynas.metrics._jacob_cov import K, correlation_score
from tinynas.space import Architecture

LINEAR = Architecture((5,), 3)  # no ReLU: every sample has the same input Jacobian
# rows with zero mean and orthogonal: their correlation matrix is the identity
HADAMARD = np.array([[1.0, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])


def _batch(labels: list[int]) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(len(labels), 5)).astype(np.float32), np.array(labels)


def test_uncorrelated_jacobians_score_the_maximum() -> None:
    assert correlation_score(HADAMARD) == pytest.approx(-3 * (math.log(1 + K) + 1 / (1 + K)))


def test_a_constant_jacobian_row_is_degenerate() -> None:
    assert correlation_score(np.vstack([HADAMARD, np.zeros(4)])) == float("-inf")
    assert get_metric("jacob_cov").degenerate_value == float("-inf")


def test_jacob_cov_of_a_linear_network_has_rank_one_correlation() -> None:
    n = 8
    score = get_metric("jacob_cov").score(LINEAR, _batch([0, 1, 2, 0, 1, 2, 0, 1]), seed=0)
    # corrcoef is all ones: eigenvalues n and n - 1 zeros
    expected = -(math.log(n + K) + 1 / (n + K)) - (n - 1) * (math.log(K) + 1 / K)
    assert score == pytest.approx(expected, rel=1e-6)


def test_epe_nas_of_a_linear_network_sums_squared_class_sizes() -> None:
    labels = [0, 0, 0, 1, 1, 2, 2, 2]
    score = get_metric("epe_nas").score(LINEAR, _batch(labels), seed=0)
    assert score == pytest.approx((9 + 4 + 9) * math.log(1 + K), rel=1e-6)


def test_epe_nas_class_scores_and_their_combinations() -> None:
    jac = np.vstack([HADAMARD, HADAMARD[:2]])
    labels = np.array([0, 0, 0, 1, 1])
    s0 = 3 * math.log(1 + K) + 6 * math.log(K)  # identity correlation
    s1 = 2 * math.log(1 + K) + 2 * math.log(K)
    assert class_scores(jac, labels, normalise=False) == pytest.approx([s0, s1])
    assert class_scores(jac, labels, normalise=True) == pytest.approx([s0 / 3, s1 / 2])
    assert combine([s0, s1], many_classes=False) == pytest.approx(abs(s0) + abs(s1))
    assert combine([s0, s1], many_classes=True) == pytest.approx(2 * abs(s0 - s1) / 2)
    assert combine([], many_classes=False) == 0.0


def test_epe_nas_skips_a_class_with_a_constant_row() -> None:
    jac = np.vstack([HADAMARD, np.zeros(4)])
    scores = class_scores(jac, np.array([0, 0, 0, 1]), normalise=False)
    assert scores == pytest.approx([3 * math.log(1 + K) + 6 * math.log(K)])  # class 1 left out


def test_zen_of_a_network_whose_features_are_its_input() -> None:
    # the classifier reads the input itself: ||f(x) - f(x + 0.01 eps)||_1 = 0.01 ||eps||_1,
    # whose mean over 784 N(0, 1) entries is 0.01 * 784 * sqrt(2 / pi)
    arch = Architecture((28, 28, 1), 10)
    score = get_metric("zen", batch_size=64).score(arch, None, seed=0)
    assert score == pytest.approx(math.log(0.01 * 784 * math.sqrt(2 / math.pi)), abs=0.02)


def test_zen_rejects_a_batch_of_one() -> None:
    from tinynas.metrics import MetricError

    with pytest.raises(MetricError, match="batch_size >= 2"):
        get_metric("zen", batch_size=1)
