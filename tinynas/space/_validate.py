"""Validity of an architecture: every rule of the template, each broken rule with its reason."""

from __future__ import annotations

from tinynas.errors import SearchSpaceError
from tinynas.space._arch import (
    KERNEL_SIZES,
    LAYER_TYPES,
    MAX_BLOCKS,
    MAX_DENSE,
    MAX_FILTERS,
    MAX_LAYERS_PER_BLOCK,
    MAX_UNITS,
    POOL_SIZES,
    POOL_TYPES,
    Architecture,
    ConvLayer,
)


def problems(arch: Architecture, input_shape: tuple[int, ...] | None = None) -> list[str]:
    """Every rule `arch` breaks, as readable reasons (empty when valid).

    Args:
        arch: the architecture.
        input_shape: when given, the shape of the data the network must take; an architecture
            made for another shape does not fit it.
    """
    out: list[str] = []
    shape = arch.input_shape
    if not 1 <= len(shape) <= 3 or any(s < 1 for s in shape):
        out.append(f"input_shape {list(shape)} must be (H, W, C), (L, C) or (L,) "
                   "of positive sizes")
    if input_shape is not None and tuple(input_shape) != tuple(shape):
        out.append(
            f"the architecture is made for input {list(shape)} but the data is "
            f"{list(input_shape)}; sample or convert an architecture for this input shape"
        )
    if arch.num_classes < 2:
        out.append(f"num_classes is {arch.num_classes}; a classifier needs at least 2")
    if len(arch.blocks) > MAX_BLOCKS:
        out.append(f"{len(arch.blocks)} convolutional blocks; at most {MAX_BLOCKS}")
    if arch.blocks and arch.blocks[0].parallel:
        out.append("blocks[0] is parallel; the first block has nothing to branch from")
    for i, block in enumerate(arch.blocks):
        if not 1 <= len(block.layers) <= MAX_LAYERS_PER_BLOCK:
            out.append(f"blocks[{i}] has {len(block.layers)} layers; 1 to {MAX_LAYERS_PER_BLOCK}")
        for j, layer in enumerate(block.layers):
            out.extend(f"blocks[{i}].layers[{j}]: {p}" for p in _layer_problems(layer))
    if arch.pooling is not None:
        if arch.pooling.type not in POOL_TYPES:
            out.append(f"pooling.type {arch.pooling.type!r} must be one of "
                       f"{', '.join(POOL_TYPES)}")
        if arch.pooling.size not in POOL_SIZES:
            out.append(f"pooling.size {arch.pooling.size} must be one of {list(POOL_SIZES)}")
    if len(arch.dense) > MAX_DENSE:
        out.append(f"{len(arch.dense)} hidden dense layers; at most {MAX_DENSE}")
    for k, units in enumerate(arch.dense):
        if not 1 <= units <= MAX_UNITS:
            out.append(f"dense[{k}] has {units} units; 1 to {MAX_UNITS}")
    return out


def _layer_problems(layer: ConvLayer) -> list[str]:
    out = []
    if layer.type not in LAYER_TYPES:
        return [f"type {layer.type!r} must be one of {', '.join(LAYER_TYPES)}"]
    if layer.type != "1x1conv2d" and layer.kernel_size not in KERNEL_SIZES:
        out.append(f"kernel_size {layer.kernel_size} must be one of {list(KERNEL_SIZES)}")
    if layer.type != "dwconv2d" and not 1 <= layer.filters <= MAX_FILTERS:
        out.append(f"filters {layer.filters} must be 1 to {MAX_FILTERS}")
    if layer.stride not in (1, 2):
        out.append(f"stride {layer.stride} must be 1 or 2")
    return out


def validate(arch: Architecture, input_shape: tuple[int, ...] | None = None) -> Architecture:
    """Returns `arch` unchanged when valid, else raises SearchSpaceError with the first reason."""
    found = problems(arch, input_shape)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise SearchSpaceError(f"invalid architecture: {found[0]}{more}")
    return arch
