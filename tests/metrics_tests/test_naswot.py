"""naswot against kernels computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

import torch

from tinynas.metrics import get_metric, relu_units
from tinynas.metrics._naswot import _relu_kernel, log_det
from tinynas.space import Architecture
from tinynas.space.torch_builder import build_torch
from tinynas.testing.metrics import random_batch, sample_archs

ONE_LAYER = Architecture((1,), 2, dense=(3,))  # x -> relu(W x + b), 3 units -> classifier


def _weights(arch: Architecture, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    torch.manual_seed(seed)
    net = build_torch(arch)
    return [(net.layers[n].weight.detach().numpy().astype(np.float64),
             net.layers[n].bias.detach().numpy().astype(np.float64))
            for n in [*(f"d{k}" for k in range(len(arch.dense))), "classifier"]]


def test_opposite_inputs_have_complementary_codes_so_k_is_3_times_identity() -> None:
    (w, b), _ = _weights(ONE_LAYER, seed=0)
    assert np.all(np.abs(b) < 1000 * np.abs(w[:, 0]))  # the sign of w x + b is the sign of w x
    x = np.array([[1000.0], [-1000.0]], dtype=np.float32)
    score = get_metric("naswot").score(ONE_LAYER, (x, np.array([0, 1])), seed=0)
    assert score == pytest.approx(math.log(9.0))  # K_H = [[3, 0], [0, 3]]


def test_identical_inputs_give_a_singular_kernel_and_the_ridge_fallback() -> None:
    x = np.array([[0.5], [0.5]], dtype=np.float32)
    score = get_metric("naswot").score(ONE_LAYER, (x, np.array([0, 1])), seed=0)
    # K_H = [[3, 3], [3, 3]] is singular; eps = 1e-3 * N_A = 0.003
    assert score == pytest.approx(math.log(3.003**2 - 9.0), rel=1e-9)
    assert math.isfinite(score)


def test_two_layer_network_matches_the_kernel_computed_from_its_weights() -> None:
    arch = Architecture((4,), 3, dense=(32, 16))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    (w1, b1), (w2, b2), _ = _weights(arch, seed=7)
    h1 = x.astype(np.float64) @ w1.T + b1
    h2 = np.maximum(h1, 0) @ w2.T + b2
    codes = np.concatenate([h1 > 0, h2 > 0], axis=1).astype(np.float64)
    kernel = codes @ codes.T + (1 - codes) @ (1 - codes).T
    sign, expected = np.linalg.slogdet(kernel)
    assert sign > 0
    score = get_metric("naswot").score(arch, (x, rng.integers(0, 3, 6)), seed=7)
    assert score == pytest.approx(expected, rel=1e-9)


def test_a_network_without_relu_scores_zero() -> None:
    linear = Architecture((28, 28, 1), 10)
    assert get_metric("naswot").score(linear, random_batch(), seed=0) == 0.0


def test_kernel_diagonal_is_the_relu_count_and_entries_are_agreements() -> None:
    arch = sample_archs(1)[0]
    torch.manual_seed(0)
    net = build_torch(arch).train()
    kernel, units = _relu_kernel(net, torch.from_numpy(random_batch()[0]))
    assert units == relu_units(arch)
    np.testing.assert_array_equal(kernel.diagonal().numpy(), np.full(8, units))
    assert torch.equal(kernel, kernel.T)
    assert bool(((kernel >= 0) & (kernel <= units)).all())


def test_log_det_of_a_definite_kernel_is_slogdet() -> None:
    kernel = np.array([[4.0, 1.0], [1.0, 3.0]])
    assert log_det(kernel, 4) == pytest.approx(math.log(11.0))


def test_different_seeds_give_different_scores() -> None:
    arch, batch = sample_archs(1)[0], random_batch()
    metric = get_metric("naswot")
    assert metric.score(arch, batch, seed=0) != metric.score(arch, batch, seed=1)
