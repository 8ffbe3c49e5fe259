"""Validity of an architecture: every rule of the template, each broken rule with its reason."""

from __future__ import annotations

import math

from tinynas.errors import SearchSpaceError
from tinynas.space._arch import (
    GLOBAL_POOL_SIZE,
    KERNEL_SIZES,
    LAYER_TYPES,
    MAX_BLOCKS,
    MAX_CLASSES,
    MAX_DENSE,
    MAX_FILTERS,
    MAX_INPUT_ELEMENTS,
    MAX_LAYERS_PER_BLOCK,
    MAX_UNITS,
    POOL_SIZES,
    POOL_TYPES,
    Architecture,
    ConvLayer,
    _short,
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
        out.append(f"input_shape {_shown(shape)} must be (H, W, C), (L, C) or (L,) "
                   "of positive sizes")
    elif math.prod(shape) > MAX_INPUT_ELEMENTS:
        out.append(f"input_shape {_shown(shape)} has {_number(math.prod(shape))} elements; "
                   f"at most {MAX_INPUT_ELEMENTS:,} (the int8 input must fit a board's SRAM): "
                   "resize the input")
    if input_shape is not None and tuple(input_shape) != tuple(shape):
        out.append(
            f"the architecture is made for input {_shown(shape)} but the data is "
            f"{list(input_shape)}; sample or convert an architecture for this input shape"
        )
    if arch.num_classes < 2:
        out.append(f"num_classes is {_number(arch.num_classes)}; a classifier needs at least 2")
    elif arch.num_classes > MAX_CLASSES:
        out.append(f"num_classes is {_number(arch.num_classes)}; at most {MAX_CLASSES:,} "
                   "(no microcontroller classifier has more)")
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
            out.append(f"pooling.type {_short(arch.pooling.type)} must be one of "
                       f"{', '.join(POOL_TYPES)}")
        if arch.pooling.type == "global":
            if arch.pooling.size != GLOBAL_POOL_SIZE:
                out.append(f"pooling.size {_number(arch.pooling.size)} must be "
                           f"{GLOBAL_POOL_SIZE} for a global pooling (its window is the map)")
        elif arch.pooling.size not in POOL_SIZES:
            out.append(f"pooling.size {_number(arch.pooling.size)} must be one of "
                       f"{list(POOL_SIZES)}")
    if len(arch.dense) > MAX_DENSE:
        out.append(f"{len(arch.dense)} hidden dense layers; at most {MAX_DENSE}")
    for k, units in enumerate(arch.dense):
        if not 1 <= units <= MAX_UNITS:
            out.append(f"dense[{k}] has {_number(units)} units; 1 to {MAX_UNITS}")
    return out


def _number(n: int) -> str:
    """An int as a reason prints it: ``1,048,576``; a huge one by its size (Python refuses to
    print an int of more than 4,300 digits)."""
    if abs(n) < 10**30:
        return f"{n:,}"
    return f"{'-' if n < 0 else ''}about 10^{int(math.log10(abs(n)))}"


def _shown(shape: tuple[int, ...]) -> str:
    """``[28, 28, 1]``, with no thousands separators inside (they read as more dimensions)."""
    sizes = [_number(s).replace(",", "") for s in shape[:4]]
    return "[" + ", ".join(sizes) + (", ...]" if len(shape) > 4 else "]")


def _layer_problems(layer: ConvLayer) -> list[str]:
    out = []
    if layer.type not in LAYER_TYPES:
        return [f"type {_short(layer.type)} must be one of {', '.join(LAYER_TYPES)}"]
    if layer.type != "1x1conv2d" and layer.kernel_size not in KERNEL_SIZES:
        out.append(f"kernel_size {_number(layer.kernel_size)} must be one of "
                   f"{list(KERNEL_SIZES)}")
    if layer.type != "dwconv2d" and not 1 <= layer.filters <= MAX_FILTERS:
        out.append(f"filters {_number(layer.filters)} must be 1 to {MAX_FILTERS}")
    if layer.stride not in (1, 2):
        out.append(f"stride {_number(layer.stride)} must be 1 or 2")
    return out


def validate(arch: Architecture, input_shape: tuple[int, ...] | None = None) -> Architecture:
    """Returns `arch` unchanged when valid, else raises SearchSpaceError with the first reason."""
    found = problems(arch, input_shape)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise SearchSpaceError(f"invalid architecture: {found[0]}{more}")
    return arch
