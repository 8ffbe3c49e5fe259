"""Seeded random sampling of the template.

`SpaceConfig` narrows μNAS's ranges (reference/search-and-metrics.md section 1) so that a
sample is likely to fit a microcontroller; the defaults are the full μNAS ranges except the
channel and unit counts, which are drawn log-uniformly so that small layers are as likely as
large ones.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from tinynas.space._arch import (
    GLOBAL_POOL_SIZE,
    MAX_BLOCKS,
    MAX_DENSE,
    MAX_FILTERS,
    MAX_LAYERS_PER_BLOCK,
    MAX_UNITS,
    Architecture,
    ConvBlock,
    ConvLayer,
    Pooling,
    canonical,
)


@dataclass(frozen=True)
class SpaceConfig:
    """Ranges and probabilities of random sampling."""

    max_blocks: int = MAX_BLOCKS
    max_layers: int = MAX_LAYERS_PER_BLOCK
    max_filters: int = MAX_FILTERS
    min_dense: int = 1  # μNAS: 1-3 hidden dense layers
    max_dense: int = MAX_DENSE
    min_units: int = 10
    max_units: int = MAX_UNITS
    p_parallel: float = 0.3
    p_relu: float = 0.9  # μNAS samples ReLU with p = 0.9
    p_batch_norm: float = 0.5
    p_stride2: float = 0.3
    p_pre_pool: float = 0.2
    p_pooling: float = 0.5
    # of the poolings, the share that are global average poolings; 0 draws nothing for it, so
    # the architectures of a seed stay those sampled before global pooling existed
    p_global_pooling: float = 0.0


def _log_uniform(rng: random.Random, low: int, high: int) -> int:
    return int(round(math.exp(rng.uniform(math.log(low), math.log(high)))))


def sample_layer(rng: random.Random, config: SpaceConfig) -> ConvLayer:
    """One random convolutional layer."""
    layer_type = rng.choice(("conv2d", "dwconv2d", "1x1conv2d"))
    return ConvLayer(
        type=layer_type,
        kernel_size=rng.choice((3, 5, 7)),
        filters=_log_uniform(rng, 1, config.max_filters),
        stride=2 if rng.random() < config.p_stride2 else 1,
        batch_norm=rng.random() < config.p_batch_norm,
        relu=rng.random() < config.p_relu,
        pre_pool=rng.random() < config.p_pre_pool,
    )


def sample(
    input_shape: tuple[int, ...],
    num_classes: int,
    rng: random.Random | int,
    config: SpaceConfig = SpaceConfig(),
) -> Architecture:
    """A random architecture (canonical form); the same seed always gives the same one."""
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    blocks = []
    for i in range(rng.randint(1, config.max_blocks)):
        layers = tuple(sample_layer(rng, config) for _ in range(rng.randint(1, config.max_layers)))
        blocks.append(ConvBlock(layers, parallel=i > 0 and rng.random() < config.p_parallel))
    pooling = None
    if rng.random() < config.p_pooling:
        pooling = Pooling(rng.choice(("avg", "max")), rng.choice((2, 4, 6)))
        if config.p_global_pooling > 0 and rng.random() < config.p_global_pooling:
            pooling = Pooling("global", GLOBAL_POOL_SIZE)
    dense = tuple(
        _log_uniform(rng, config.min_units, config.max_units)
        for _ in range(rng.randint(config.min_dense, config.max_dense))
    )
    return canonical(Architecture(tuple(input_shape), num_classes, tuple(blocks), pooling, dense))
