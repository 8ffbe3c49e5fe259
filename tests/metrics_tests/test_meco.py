"""meco (Jiang et al. 2023) pinned on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from tinynas.metrics import get_metric, meco_score
from tinynas.testing.metrics import sample_archs


def test_smallest_correlation_eigenvalue_by_hand() -> None:
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([1.0, -1.0, -1.0, 1.0])  # uncorrelated with a: correlation = identity
    assert meco_score([np.stack([a, b])]) == pytest.approx(1.0)
    # a copy of a channel (or its negative) makes the correlation singular: eigenvalue 0
    assert meco_score([np.stack([a, 2 * a + 1])]) == pytest.approx(0.0, abs=1e-12)
    assert meco_score([np.stack([a, -a])]) == pytest.approx(0.0, abs=1e-12)
    # a constant channel has no correlation: counted as 0, leaving [[1, 0], [0, 0]] -> 0
    assert meco_score([np.stack([a, np.ones(4)])]) == pytest.approx(0.0, abs=1e-12)
    # layers add; one channel or one position adds nothing
    assert meco_score([np.stack([a, b]), np.stack([a, b]), a[None, :], a[:, None]]) == (
        pytest.approx(2.0))


def test_the_metric_scores_the_first_image_only() -> None:
    pytest.importorskip("torch")
    arch = sample_archs(1, seed=6)[0]
    rng = np.random.default_rng(2)
    x = rng.random((8, *arch.input_shape), np.float32)
    y = rng.integers(0, arch.num_classes, 8)
    metric = get_metric("meco")
    first = metric.score(arch, (x, y), seed=0)
    # the other images do not matter; which one comes first does
    assert metric.score(arch, (x[[0, 5]], y[[0, 5]]), seed=0) == first
    assert metric.score(arch, (x[1:], y[1:]), seed=0) != first
