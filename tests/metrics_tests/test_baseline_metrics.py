"""params and macs are the estimators' figures."""

from __future__ import annotations

from tinynas import estimators
from tinynas.metrics import get_metric
from tinynas.space import Architecture, ConvBlock, ConvLayer
from tinynas.testing.metrics import sample_archs


def test_params_and_macs_equal_the_estimators() -> None:
    for arch in sample_archs(5, seed=2):
        assert get_metric("params").score(arch) == float(estimators.params(arch))
        assert get_metric("macs").score(arch) == float(estimators.macs(arch))


def test_params_and_macs_of_a_hand_counted_network() -> None:
    # conv 3x3, 1 -> 4 channels on 8x8 ('same'): 36 weights + 4 biases, 8*8*4*9 MACs;
    # dense 256 -> 3: 768 weights + 3 biases, 768 MACs
    arch = Architecture((8, 8, 1), 3, blocks=(ConvBlock((ConvLayer("conv2d", 3, 4),)),))
    assert get_metric("params").score(arch) == 36 + 4 + 768 + 3
    assert get_metric("macs").score(arch) == 8 * 8 * 4 * 9 + 768
