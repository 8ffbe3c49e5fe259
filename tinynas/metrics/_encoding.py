"""A fixed-length numeric encoding of an architecture, the learned ranker's input.

Two parts, always the same length and order (``encoding_names()`` names each entry):

- summary: input shape and class count; counts of blocks, parallel blocks, layers of each
  type, stride-2 layers, batch norms, ReLUs and pre-pools; log2 of the mean and largest
  filter count; the pooling layer; the dense layers; the lowered graph's depth and the size
  of the features handed to the dense part.
- slots: one slot per possible block (10) and per layer in it (3), then per dense layer (3);
  an empty slot is all zeros, so position in the network is kept.

Counts of channels, units and elements enter as log2(1 + n) so that a tree model splits on
ratios rather than on absolute sizes.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from tinynas.space import (
    LAYER_TYPES,
    MAX_BLOCKS,
    MAX_DENSE,
    MAX_LAYERS_PER_BLOCK,
    Architecture,
    ConvLayer,
    lower,
)

Feature = tuple[str, float]


def _log2(n: float) -> float:
    return math.log2(1 + n)


def _input(arch: Architecture) -> list[Feature]:
    shape = arch.input_shape
    if len(shape) < 3:  # (L,) and (L, C) run as (1, L, C)
        shape = (1, shape[0], shape[1] if len(shape) == 2 else 1)
    return [("input_h", shape[0]), ("input_w", shape[1]), ("input_c", shape[2]),
            ("num_classes", arch.num_classes)]


def _counts(arch: Architecture) -> list[Feature]:
    layers = [layer for block in arch.blocks for layer in block.layers]
    filters = [layer.filters for layer in layers if layer.type != "dwconv2d"] or [0]
    out: list[Feature] = [
        ("blocks", len(arch.blocks)),
        ("parallel_blocks", sum(b.parallel for b in arch.blocks)),
        ("conv_layers", len(layers)),
    ]
    out += [(f"layers_{t}", sum(layer.type == t for layer in layers)) for t in LAYER_TYPES]
    out += [
        ("stride2_layers", sum(layer.stride == 2 for layer in layers)),
        ("batch_norms", sum(layer.batch_norm for layer in layers)),
        ("relu_layers", sum(layer.relu for layer in layers) + len(arch.dense)),
        ("pre_pools", sum(layer.pre_pool for layer in layers)),
        ("log2_mean_filters", _log2(sum(filters) / len(filters))),
        ("log2_max_filters", _log2(max(filters))),
    ]
    return out


def _head(arch: Architecture) -> list[Feature]:
    pooling = arch.pooling
    nodes = lower(arch)
    head_input = next((n for n in nodes if n.op == "FULLY_CONNECTED"), nodes[-1])
    return [
        ("pooling", pooling is not None),
        ("pooling_max", pooling is not None and pooling.type == "max"),
        ("pooling_size", pooling.size if pooling else 0),
        ("dense_layers", len(arch.dense)),
        ("log2_dense_units", _log2(sum(arch.dense))),
        ("graph_depth", len(nodes)),
        ("log2_head_inputs", _log2(nodes[head_input.inputs[0]].out_elements)),
    ]


def _layer_slot(prefix: str, layer: ConvLayer | None) -> list[Feature]:
    present = layer is not None
    layer = layer or ConvLayer(kernel_size=0, filters=0, stride=0, relu=False)
    out: list[Feature] = [(f"{prefix}present", present)]
    out += [(f"{prefix}{t}", present and layer.type == t) for t in LAYER_TYPES]
    return out + [
        (f"{prefix}kernel", layer.kernel_size),
        (f"{prefix}log2_filters", _log2(layer.filters)),
        (f"{prefix}stride", layer.stride),
        (f"{prefix}batch_norm", layer.batch_norm),
        (f"{prefix}relu", layer.relu),
        (f"{prefix}pre_pool", layer.pre_pool),
    ]


def _slots(arch: Architecture) -> list[Feature]:
    out: list[Feature] = []
    for i in range(MAX_BLOCKS):
        block = arch.blocks[i] if i < len(arch.blocks) else None
        out += [(f"b{i}_present", block is not None),
                (f"b{i}_parallel", block is not None and block.parallel)]
        for j in range(MAX_LAYERS_PER_BLOCK):
            layer = block.layers[j] if block and j < len(block.layers) else None
            out += _layer_slot(f"b{i}l{j}_", layer)
    for k in range(MAX_DENSE):
        units = arch.dense[k] if k < len(arch.dense) else 0
        out += [(f"d{k}_present", k < len(arch.dense)), (f"d{k}_log2_units", _log2(units))]
    return out


def _features(arch: Architecture) -> list[Feature]:
    return _input(arch) + _counts(arch) + _head(arch) + _slots(arch)


def encode(arch: Architecture) -> np.ndarray:
    """The encoding of `arch` (float64, ``len(encoding_names())`` entries).

    Raises:
        SearchSpaceError: `arch` is invalid.
    """
    return np.array([float(v) for _, v in _features(arch)], dtype=np.float64)


@lru_cache(maxsize=1)
def encoding_names() -> tuple[str, ...]:
    """The name of each entry of ``encode``'s vector."""
    return tuple(name for name, _ in _features(Architecture((4,), 2)))
