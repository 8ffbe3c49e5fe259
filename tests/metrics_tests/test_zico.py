"""zico (Li et al. 2023) pinned on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinynas.metrics import get_metric, zico_score
from tinynas.testing.metrics import sample_archs


def test_the_sum_by_hand() -> None:
    # layer 1, two parts: weight a has gradients 1 and 3 (E|g| = 2, sigma = 1: ratio 2), weight
    # b has 2 and 2 (sigma = 0: left out); layer 2: -1 and 1 (E|g| = 1, sigma = 1: ratio 1)
    layers = [np.array([[1.0, 2.0], [3.0, 2.0]]), np.array([[-1.0], [1.0]])]
    assert zico_score(layers) == pytest.approx(math.log(2.0) + math.log(1.0))
    # a layer whose weights all agree across parts adds nothing (no log of 0)
    assert zico_score([np.array([[5.0, 5.0], [5.0, 5.0]])]) == 0.0
    # scaling a layer's gradients leaves its ratio unchanged
    assert zico_score([10 * layers[0], layers[1]]) == pytest.approx(math.log(2.0))


def test_identical_halves_score_zero() -> None:
    """Two halves of the batch that are the same images give the same gradients: sigma = 0
    for every weight, so every layer is left out."""
    pytest.importorskip("torch")
    arch = sample_archs(1, seed=3)[0]
    rng = np.random.default_rng(0)
    x = rng.random((4, *arch.input_shape), np.float32)
    y = rng.integers(0, arch.num_classes, 4)
    twice = (np.concatenate([x[:2], x[:2]]), np.concatenate([y[:2], y[:2]]))
    metric = get_metric("zico")
    assert metric.score(arch, twice, seed=0) == 0.0
    assert metric.score(arch, (x, y), seed=0) != 0.0
