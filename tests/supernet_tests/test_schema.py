"""The supernet's sub-networks as decisions: the search strategies that model decisions
propose only sub-networks, and a sub-network's decisions read back from its architecture."""

from __future__ import annotations

import random

import pytest

from tinynas.search import DecisionEvolutionStrategy, ReinforceStrategy, SearchSpace
from tinynas.space import Architecture, ConvBlock, ConvLayer, Pooling, canonical, problems
from tinynas.supernet import (
    SubnetConfig,
    SupernetSchema,
    SupernetSpace,
    config_of,
    sample_config,
    subnet_architecture,
)

SPACE = SupernetSpace((28, 28, 1), 10)
SEARCH_SPACE = SearchSpace((28, 28, 1), 10)


def test_a_subnet_reads_back_as_its_config() -> None:
    rng = random.Random(0)
    for _ in range(20):
        config = sample_config(SPACE, "width", rng)
        assert config_of(SPACE, subnet_architecture(SPACE, config)) == config


def test_an_architecture_outside_the_supernet_is_refused() -> None:
    wide = SubnetConfig((1, 1, 1), (16, 32, 64), ((3,), (3,), (3,)))
    arch = subnet_architecture(SPACE, wide)
    odd = Architecture(arch.input_shape, 10, arch.blocks[:2] + (ConvBlock(
        (ConvLayer("conv2d", 3, 40, 2, batch_norm=True, relu=True),)),), Pooling("global", 0),
        ())  # fmt: skip
    with pytest.raises(ValueError, match="not a sub-network"):
        config_of(SPACE, odd)
    with pytest.raises(ValueError, match="not a sub-network"):
        config_of(SPACE, Architecture(arch.input_shape, 10, arch.blocks[:1], None, (10,)))


@pytest.mark.parametrize("factory", [
    lambda: ReinforceStrategy(SEARCH_SPACE, 0, schema=SupernetSchema(SPACE)),
    lambda: DecisionEvolutionStrategy(SEARCH_SPACE, 0, schema=SupernetSchema(SPACE),
                                      population_size=5),
])
def test_strategies_over_the_supernet_propose_only_its_subnets(factory) -> None:  # type: ignore[no-untyped-def]
    strategy = factory()
    seen = set()
    for k in range(30):
        arch = strategy.ask()
        assert problems(arch) == [] and canonical(arch) == arch
        config = config_of(SPACE, arch)
        config.check(SPACE)
        seen.add(config)
        strategy.tell(arch, float(sum(config.widths)) if k % 5 else None)
    assert len(seen) >= 8  # distinct sub-networks, not one proposed again and again
