"""Seeded sampling of the regular design space inside the μNAS template.

A random sample of the full template is mostly irregular: a 1-channel layer between wide ones,
7x7 kernels at full resolution, widths that shrink with depth. Such networks can use a lot of
compute and still train poorly, because one narrow layer bounds what the rest can learn. The
regular space keeps the template's vocabulary and draws only networks of the shape that
design-space studies found good (RegNet, Radosavovic et al. 2020: stage widths that grow
with depth, downsampling at the start of each stage, the same block throughout; MCUNet, Lin
et al. 2020: within a good space, more compute under the memory cap means more accuracy).

A network of this space: 2-4 stages, each one block in series of 1-3 layers of one kind
(full convolutions, or a depthwise convolution followed by a 1x1 convolution), every layer
with batch norm and ReLU; stage widths w0 * g**i (w0 log-uniform in [4, 64], g uniform in
[1, 2.5]); every stage after the first starts with a stride-2 layer or a 2x2 max pre-pool;
average pooling or none; then at most one of the template's hidden dense layers, no
narrower than the last stage.
"""

from __future__ import annotations

import random

from tinynas.space._arch import Architecture, ConvBlock, ConvLayer, Pooling, canonical
from tinynas.space._sample import SpaceConfig, _log_uniform

MIN_STAGES, MAX_STAGES = 2, 4
MIN_WIDTH, MAX_WIDTH = 4, 64  # of the first stage
MAX_GROWTH = 2.5  # stage width ratio
_DEFAULT_CONFIG = SpaceConfig()


def _stage(kind: str, width: int, depth: int, kernel: int, downsample: str | None) -> ConvBlock:
    """One stage: `depth` layers (or depthwise + 1x1 pairs, at most 3 layers in all) of
    `width` channels; the first downsamples by `downsample` ('stride', 'pool' or None)."""
    def layer(layer_type: str, first: bool) -> ConvLayer:
        return ConvLayer(
            type=layer_type,
            kernel_size=1 if layer_type == "1x1conv2d" else kernel,
            filters=0 if layer_type == "dwconv2d" else width,
            stride=2 if first and downsample == "stride" and layer_type != "1x1conv2d" else 1,
            batch_norm=True, relu=True, pre_pool=first and downsample == "pool")

    if kind == "separable":  # depthwise then 1x1; a third layer is one more full convolution
        types = ["dwconv2d", "1x1conv2d"] + ["conv2d"] * (depth > 2)
    else:
        types = ["conv2d"] * depth
    return ConvBlock(tuple(layer(t, i == 0) for i, t in enumerate(types)))


def sample_regular(
    input_shape: tuple[int, ...],
    num_classes: int,
    rng: random.Random | int,
    config: SpaceConfig = _DEFAULT_CONFIG,
) -> Architecture:
    """A random architecture of the regular space (canonical form; module docstring); the
    same seed always gives the same one. `config` bounds its blocks, layers, filters and
    dense layers as it bounds `sample`."""
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    stages = rng.randint(min(MIN_STAGES, config.max_blocks), min(MAX_STAGES, config.max_blocks))
    kind = rng.choice(("conv", "separable")) if config.max_layers >= 2 else "conv"
    kernel = rng.choice((3, 3, 5))
    top = min(MAX_WIDTH, config.max_filters)
    w0 = _log_uniform(rng, min(MIN_WIDTH, top), top)
    growth = rng.uniform(1.0, MAX_GROWTH)
    blocks = []
    for i in range(stages):
        width = min(config.max_filters, max(1, round(w0 * growth**i)))
        depth = rng.randint(1, config.max_layers)
        if i == 0:
            downsample = "stride" if rng.random() < 0.5 else None
        else:
            downsample = rng.choice(("stride", "pool"))
        blocks.append(_stage(kind, width, depth, kernel, downsample))
    pooling = Pooling("avg", rng.choice((2, 4, 6))) if rng.random() < 0.5 else None
    # a hidden dense layer is no narrower than the last stage (widths never shrink)
    low = min(config.max_units, max(config.min_units, width))
    most = min(1, config.max_dense)
    dense = tuple(_log_uniform(rng, low, config.max_units)
                  for _ in range(rng.randint(min(config.min_dense, most), most)))
    return canonical(Architecture(tuple(input_shape), num_classes, tuple(blocks), pooling, dense))

