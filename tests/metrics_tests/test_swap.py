"""swap (Peng et al. 2024) pinned on hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from tinynas.metrics import get_metric, swap_score
from tinynas.testing.metrics import sample_archs


def test_distinct_patterns_by_hand() -> None:
    # two samples; layer 1 has units with patterns (1,0), (0,0), (1,1); layer 2 one unit (1,0),
    # which layer 1 already has: three distinct patterns
    layer1 = np.array([[1, 0, 1], [0, 0, 1]], bool)
    layer2 = np.array([[1], [0]], bool)
    assert swap_score([layer1, layer2]) == 3
    assert swap_score([]) == 0
    # patterns are compared over every sample, past the first byte of the packed bits
    nine = np.zeros((9, 2), bool)
    nine[8, 1] = True  # the two units differ only in sample 9
    assert swap_score([nine]) == 2


def test_one_sample_has_at_most_two_patterns() -> None:
    pytest.importorskip("torch")
    arch = sample_archs(1, seed=4)[0]
    rng = np.random.default_rng(1)
    x = rng.random((16, *arch.input_shape), np.float32)
    y = rng.integers(0, arch.num_classes, 16)
    metric = get_metric("swap")
    many = metric.score(arch, (x, y), seed=0)
    # the same image 16 times: every unit is on for all samples or for none
    same = metric.score(arch, (np.repeat(x[:1], 16, axis=0), y), seed=0)
    assert same <= 2 < many
