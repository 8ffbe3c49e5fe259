"""Compound scaling: depth, width and resolution scaled together; the constants fitted at
phi = 1 under the binding resource; phi stepped up while the network fits; resumable."""

from __future__ import annotations

import pytest

from tinynas.devices import get_device
from tinynas.errors import TinyNASError
from tinynas.estimators import Budget, estimate
from tinynas.search import (
    CompoundStrategy,
    SearchSpace,
    binding_resource,
    compound_scale,
    deepen,
    get_strategy,
)
from tinynas.search._compound import MIN_GROWTH
from tinynas.space import MAX_BLOCKS, Architecture, Pooling, problems
from tinynas.testing.archs import conv, parallel, serial

SHAPE = (28, 28, 1)
DEVICE = get_device("nucleo-l4r5zi")
BASE = Architecture(SHAPE, 10, (serial(conv(8, 3, 2), conv(8)),
                                serial(conv(16, 3, 2, pre_pool=True)), parallel(conv(16))),
                    Pooling("avg", 2), (32,))


def test_depth_repeats_each_serial_block_s_last_layer() -> None:
    deeper = deepen(BASE, 1.5)
    first, second, branch = deeper.blocks[:3]
    assert len(first.layers) == 3 and first.layers[2] == conv(8)  # ceil(2 * 1.5)
    assert len(second.layers) == 2  # ceil(1 * 1.5): a copy without stride or pooling
    assert second.layers[1] == conv(16, 3, 1)
    assert branch == BASE.blocks[2]  # parallel blocks are not deepened
    double = deepen(BASE, 2.0)  # 4 layers: 3 in the block, one in a serial block after it
    assert [len(b.layers) for b in double.blocks] == [3, 1, 2, 1]
    assert double.blocks[1].layers == (conv(8),) and not double.blocks[1].parallel
    assert deepen(BASE, 1.0) == BASE
    assert len(deepen(BASE, 20.0).blocks) == MAX_BLOCKS
    assert not problems(deepen(BASE, 2.0))


def test_width_and_resolution_scale_as_the_grid_does() -> None:
    scaled = compound_scale(BASE, 1.0, 1.5, 1.15)
    assert scaled.input_shape == (32, 32, 1)
    assert [l.filters for b in scaled.blocks for l in b.layers] == [12, 12, 24, 24]
    assert scaled.dense == (48,)


def _strategy(budget: Budget) -> CompoundStrategy:
    return CompoundStrategy(SearchSpace(SHAPE, 10), 0, device=DEVICE, budget=budget, base=BASE)


def _score(arch: Architecture) -> float:
    """A stand-in ranker for the strategy's logic: more MACs score higher."""
    return float(estimate(arch, DEVICE).macs)


def test_the_grid_at_phi_1_doubles_the_binding_resource_at_most() -> None:
    base_est = estimate(BASE, DEVICE)
    budget = Budget(ram_bytes=4 * base_est.arena_bytes, flash_bytes=100 * base_est.flash_bytes)
    assert binding_resource(budget, BASE, DEVICE) == "ram"
    grid = _strategy(budget).fit_grid(BASE)
    assert len(grid) >= 5
    for arch, (d, w, r) in grid:
        growth = estimate(arch, DEVICE).arena_bytes / base_est.arena_bytes
        assert MIN_GROWTH <= growth <= 2.0 and not budget.violations(estimate(arch, DEVICE))
        assert arch == compound_scale(BASE, d, w, r)


def test_the_strategy_fits_then_scales_until_the_budget_and_resumes() -> None:
    base_est = estimate(BASE, DEVICE)
    budget = Budget(ram_bytes=6 * base_est.arena_bytes, flash_bytes=100 * base_est.flash_bytes)
    strategy = _strategy(budget)
    asked = []
    for _ in range(200):
        arch = strategy.ask()
        asked.append(arch)
        over = budget.violations(estimate(arch, DEVICE))
        strategy.tell(arch, None if over else _score(arch))
        if strategy.constants and len(asked) > len(strategy.fit_grid(BASE)) + 4:
            break
    grid = strategy.fit_grid(BASE)
    assert asked[0] == BASE and asked[1:len(grid) + 1] == [a for a, _ in grid]
    fitted = strategy.constants[0]
    best = max(grid, key=lambda g: _score(g[0]))[1]
    assert (fitted.depth, fitted.width, fitted.resolution) == best and fitted.resource == "ram"
    steps = asked[len(grid) + 1:]
    macs = [estimate(a, DEVICE).macs for a in steps]
    assert macs[0] > _score(max(grid, key=lambda g: _score(g[0]))[0])  # phi = 1.5 is larger
    assert all(not budget.violations(estimate(a, DEVICE)) for a in steps[:2])
    assert strategy.report() == {"compound": [{"base": BASE.content_hash, "depth": best[0],
                                               "width": best[1], "resolution": best[2],
                                               "resource": "ram"}]}
    # a resumed run tells the stored results in order and asks what would have come next
    again = _strategy(budget)
    for arch in asked[:-1]:
        over = budget.violations(estimate(arch, DEVICE))
        again.tell(arch, None if over else _score(arch))
    assert again.ask() == asked[-1]


def test_a_base_is_for_the_compound_strategy_only() -> None:
    with pytest.raises(TinyNASError, match="--base is for --strategy compound, not grid"):
        get_strategy("grid", SearchSpace(SHAPE, 10), 0, base=BASE)
    assert isinstance(get_strategy("compound", SearchSpace(SHAPE, 10), 0, DEVICE, Budget()),
                      CompoundStrategy)
