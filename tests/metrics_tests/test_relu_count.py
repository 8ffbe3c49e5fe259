"""relu_count (analytic N_A) and its size-penalised form."""

from __future__ import annotations

import dataclasses
import math

import pytest

from tinynas.devices import get_device
from tinynas.errors import BoardNotFoundError
from tinynas.estimators import Budget, estimate
from tinynas.metrics import PENALTY_SHAPES, MetricError, get_metric, penalty, relu_units
from tinynas.space import Architecture, ConvBlock, ConvLayer
from tinynas.testing.metrics import random_batch, sample_archs

# conv 3x3 8 filters + ReLU on 28x28 ('same'): 28*28*8; dense 32 + ReLU: 32; the classifier
# and the 1x1 projection without ReLU count nothing
KNOWN = Architecture(
    (28, 28, 1), 10,
    blocks=(ConvBlock((ConvLayer("conv2d", 3, 8), ConvLayer("1x1conv2d", 1, 4, relu=False))),),
    dense=(32,),
)


def _forward_count(arch: Architecture) -> int:
    """ReLU elements per sample, counted by hooks during a forward pass."""
    torch = pytest.importorskip("torch")
    from tinynas.space.torch_builder import build_torch

    counted = []
    net = build_torch(arch)
    for relu in net.relus.values():
        relu.register_forward_hook(lambda m, i, o: counted.append(o[0].numel()))
    with torch.no_grad():
        net(torch.from_numpy(random_batch(2)[0]))
    return sum(counted)


def test_relu_count_of_a_hand_counted_network() -> None:
    assert get_metric("relu_count").score(KNOWN) == 28 * 28 * 8 + 32


def test_relu_count_equals_a_forward_pass_count() -> None:
    for arch in [KNOWN, *sample_archs(4, seed=3)]:
        assert get_metric("relu_count").score(arch) == _forward_count(arch)


def test_relu_count_of_a_linear_network_is_zero() -> None:
    assert relu_units(Architecture((28, 28, 1), 10)) == 0


@pytest.mark.parametrize("shape", sorted(PENALTY_SHAPES))
def test_penalty_is_one_up_to_mu_then_decreasing(shape: str) -> None:
    mu, sigma = 0.5, 0.2
    assert penalty(0.1, shape, mu, sigma) == 1.0
    assert penalty(mu, shape, mu, sigma) == 1.0
    assert penalty(mu + 1e-9, shape, mu, sigma) == pytest.approx(1.0, abs=1e-6)  # continuous
    above = [penalty(mu + d, shape, mu, sigma) for d in (0.05, 0.1, 0.2, 0.4, 0.8)]
    assert all(0.0 <= v < 1.0 for v in above)
    assert all(a > b for a, b in zip(above, above[1:]))


def test_penalty_values_one_sigma_above_mu() -> None:
    assert penalty(1.4, "gaussian", 1.0, 0.4) == pytest.approx(math.exp(-0.5))
    assert penalty(1.4, "sech", 1.0, 0.4) == pytest.approx(1 / math.cosh(math.pi / 2))
    assert penalty(1.4, "rayleigh", 1.0, 0.4) == pytest.approx(2 * math.exp(-1.5))


def test_penalty_rejects_unknown_shapes_and_non_positive_widths() -> None:
    with pytest.raises(MetricError, match="unknown penalty shape 'cauchy'"):
        penalty(1.0, "cauchy")
    with pytest.raises(MetricError, match="sigma=0"):
        get_metric("relu_count_penalized", sigma=0)


def test_penalized_equals_relu_count_when_the_network_fits() -> None:
    metric = get_metric("relu_count_penalized", device="nucleo-l4r5zi")
    _, x = metric.binding(KNOWN)  # type: ignore[attr-defined]
    assert x < 1.0
    assert metric.score(KNOWN) == relu_units(KNOWN)


def test_penalized_applies_the_penalty_to_the_binding_resource() -> None:
    board = get_device("nucleo-l4r5zi")
    est = estimate(KNOWN, board)  # the board's arena: Cortex-M with CMSIS-NN
    tight = dataclasses.replace(  # RAM budget half the arena, flash budget twice the file
        board, sram_bytes=board.runtime_reserve_bytes + est.arena_bytes // 2,
        flash_bytes=board.firmware_reserve_bytes + 2 * est.flash_bytes)
    metric = get_metric("relu_count_penalized", device=tight, shape="sech", sigma=0.5)
    resource, x = metric.binding(KNOWN)  # type: ignore[attr-defined]
    assert resource == "ram"
    assert x == pytest.approx(est.arena_bytes / (est.arena_bytes // 2))
    expected = relu_units(KNOWN) / math.cosh(math.pi / 2 * (x - 1.0) / 0.5)
    assert metric.score(KNOWN) == pytest.approx(expected)
    assert metric.score(KNOWN) < relu_units(KNOWN)


def test_penalized_counts_latency_only_with_a_latency_budget() -> None:
    board = get_device("nucleo-l4r5zi")
    latency_ms = estimate(KNOWN, board).latency_ms
    assert latency_ms is not None
    metric = get_metric("relu_count_penalized", device=board, latency_budget_ms=latency_ms / 3)
    assert metric.binding(KNOWN) == ("latency", pytest.approx(3.0))  # type: ignore[attr-defined]
    assert "latency" not in get_metric("relu_count_penalized").fractions(KNOWN)  # type: ignore[attr-defined]


def test_penalized_takes_the_limits_of_a_search_budget() -> None:
    board = get_device("nucleo-l4r5zi")
    arena = estimate(KNOWN, board).arena_bytes
    budget = Budget.for_device(board, max_ram_bytes=arena // 4)
    metric = get_metric("relu_count_penalized", device=board, budget=budget)
    assert metric.binding(KNOWN) == ("ram", pytest.approx(arena / (arena // 4)))  # type: ignore[attr-defined]


def test_penalized_rejects_an_unknown_board_and_a_bad_latency_budget() -> None:
    with pytest.raises(BoardNotFoundError):
        get_metric("relu_count_penalized", device="no-such-board")
    with pytest.raises(MetricError, match="latency_budget_ms must be positive; got -1"):
        get_metric("relu_count_penalized", latency_budget_ms=-1)
