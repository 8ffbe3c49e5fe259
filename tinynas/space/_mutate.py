"""The μNAS morphisms: small edits of an architecture, each a function of (arch, rng).

A morphism returns the edited architecture, or None where it does not apply (removing the only
block, say). `mutate` draws applicable morphisms until one gives a valid, different network.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tinynas.space._arch import (
    GLOBAL_POOL_SIZE,
    KERNEL_SIZES,
    LAYER_TYPES,
    MAX_BLOCKS,
    MAX_DENSE,
    MAX_FILTERS,
    MAX_LAYERS_PER_BLOCK,
    MAX_UNITS,
    POOL_SIZES,
    Architecture,
    ConvBlock,
    ConvLayer,
    Pooling,
    canonical,
)
from tinynas.space._sample import SpaceConfig, sample_layer
from tinynas.space._validate import problems

Morphism = Callable[[Architecture, random.Random], "Architecture | None"]

_STEPS = (1, 3, 5)  # μNAS: channel and unit counts change by +-1, 3 or 5


def _with_blocks(arch: Architecture, blocks: list[ConvBlock]) -> Architecture:
    return replace(arch, blocks=tuple(blocks))


def _pick_layer(arch: Architecture, rng: random.Random) -> tuple[int, int] | None:
    slots = [(i, j) for i, b in enumerate(arch.blocks) for j in range(len(b.layers))]
    return rng.choice(slots) if slots else None


def _edit_layer(arch: Architecture, rng: random.Random,
                edit: Callable[[ConvLayer], ConvLayer | None]) -> Architecture | None:
    slot = _pick_layer(arch, rng)
    if slot is None:
        return None
    i, j = slot
    new = edit(arch.blocks[i].layers[j])
    if new is None:
        return None
    layers = list(arch.blocks[i].layers)
    layers[j] = new
    blocks = list(arch.blocks)
    blocks[i] = replace(blocks[i], layers=tuple(layers))
    return _with_blocks(arch, blocks)


def add_block(arch: Architecture, rng: random.Random) -> Architecture | None:
    if len(arch.blocks) >= MAX_BLOCKS:
        return None
    at = rng.randint(0, len(arch.blocks))
    block = ConvBlock((sample_layer(rng, SpaceConfig()),), parallel=at > 0 and rng.random() < 0.3)
    return _with_blocks(arch, [*arch.blocks[:at], block, *arch.blocks[at:]])


def remove_block(arch: Architecture, rng: random.Random) -> Architecture | None:
    if len(arch.blocks) <= 1:
        return None
    at = rng.randrange(len(arch.blocks))
    blocks = [b for k, b in enumerate(arch.blocks) if k != at]
    if blocks[0].parallel:
        blocks[0] = replace(blocks[0], parallel=False)
    return _with_blocks(arch, blocks)


def add_layer(arch: Architecture, rng: random.Random) -> Architecture | None:
    open_blocks = [i for i, b in enumerate(arch.blocks) if len(b.layers) < MAX_LAYERS_PER_BLOCK]
    if not open_blocks:
        return None
    i = rng.choice(open_blocks)
    layers = list(arch.blocks[i].layers)
    layers.insert(rng.randint(0, len(layers)), sample_layer(rng, SpaceConfig()))
    blocks = list(arch.blocks)
    blocks[i] = replace(blocks[i], layers=tuple(layers))
    return _with_blocks(arch, blocks)


def remove_layer(arch: Architecture, rng: random.Random) -> Architecture | None:
    full = [i for i, b in enumerate(arch.blocks) if len(b.layers) > 1]
    if not full:
        return None
    i = rng.choice(full)
    layers = list(arch.blocks[i].layers)
    del layers[rng.randrange(len(layers))]
    blocks = list(arch.blocks)
    blocks[i] = replace(blocks[i], layers=tuple(layers))
    return _with_blocks(arch, blocks)


def flip_parallel(arch: Architecture, rng: random.Random) -> Architecture | None:
    if len(arch.blocks) < 2:
        return None
    i = rng.randrange(1, len(arch.blocks))
    blocks = list(arch.blocks)
    blocks[i] = replace(blocks[i], parallel=not blocks[i].parallel)
    return _with_blocks(arch, blocks)


def _toggle(field: str) -> Morphism:
    def morph(arch: Architecture, rng: random.Random) -> Architecture | None:
        def flipped(layer: ConvLayer) -> ConvLayer:
            changes: dict[str, Any] = {field: not getattr(layer, field)}
            return replace(layer, **changes)

        return _edit_layer(arch, rng, flipped)

    morph.__name__ = f"toggle_{field}"
    return morph


def toggle_stride(arch: Architecture, rng: random.Random) -> Architecture | None:
    return _edit_layer(arch, rng, lambda l: None if l.type == "1x1conv2d"
                       else replace(l, stride=3 - l.stride))


def change_layer_type(arch: Architecture, rng: random.Random) -> Architecture | None:
    def edit(layer: ConvLayer) -> ConvLayer:
        new_type = rng.choice([t for t in LAYER_TYPES if t != layer.type])
        filters = layer.filters or rng.randint(1, 32)  # a depthwise layer had none
        kernel = layer.kernel_size if layer.kernel_size > 1 else rng.choice(KERNEL_SIZES[1:])
        return replace(layer, type=new_type, filters=filters, kernel_size=kernel)

    return _edit_layer(arch, rng, edit)


def change_filters(arch: Architecture, rng: random.Random) -> Architecture | None:
    def edit(layer: ConvLayer) -> ConvLayer | None:
        if layer.type == "dwconv2d":
            return None
        step = rng.choice(_STEPS) * rng.choice((-1, 1))
        return replace(layer, filters=min(max(layer.filters + step, 1), MAX_FILTERS))

    return _edit_layer(arch, rng, edit)


def change_kernel(arch: Architecture, rng: random.Random) -> Architecture | None:
    def edit(layer: ConvLayer) -> ConvLayer | None:
        if layer.type == "1x1conv2d":
            return None
        k = layer.kernel_size + rng.choice((-2, 2))
        return replace(layer, kernel_size=k) if 3 <= k <= KERNEL_SIZES[-1] else None

    return _edit_layer(arch, rng, edit)


def toggle_pooling(arch: Architecture, rng: random.Random) -> Architecture | None:
    if arch.pooling is not None:
        return replace(arch, pooling=None)
    return replace(arch, pooling=Pooling(rng.choice(("avg", "max")), rng.choice(POOL_SIZES)))


def toggle_global_pooling(arch: Architecture, rng: random.Random) -> Architecture | None:
    """A windowed pooling (or none) becomes a global average pooling, a global one a 2 x 2
    average pooling."""
    if arch.pooling is not None and arch.pooling.type == "global":
        return replace(arch, pooling=Pooling("avg", POOL_SIZES[0]))
    return replace(arch, pooling=Pooling("global", GLOBAL_POOL_SIZE))


def change_pool_size(arch: Architecture, rng: random.Random) -> Architecture | None:
    if arch.pooling is None or arch.pooling.type == "global":
        return None
    size = arch.pooling.size + rng.choice((-2, 2))
    return replace(arch, pooling=replace(arch.pooling, size=size)) if size in POOL_SIZES else None


def change_pool_type(arch: Architecture, rng: random.Random) -> Architecture | None:
    if arch.pooling is None or arch.pooling.type == "global":
        return None
    new_type = "max" if arch.pooling.type == "avg" else "avg"
    return replace(arch, pooling=replace(arch.pooling, type=new_type))


def add_dense(arch: Architecture, rng: random.Random) -> Architecture | None:
    if len(arch.dense) >= MAX_DENSE:
        return None
    dense = list(arch.dense)
    dense.insert(rng.randint(0, len(dense)), rng.randint(10, MAX_UNITS))
    return replace(arch, dense=tuple(dense))


def remove_dense(arch: Architecture, rng: random.Random) -> Architecture | None:
    if not arch.dense:
        return None
    at = rng.randrange(len(arch.dense))
    return replace(arch, dense=tuple(u for k, u in enumerate(arch.dense) if k != at))


def change_units(arch: Architecture, rng: random.Random) -> Architecture | None:
    if not arch.dense:
        return None
    at = rng.randrange(len(arch.dense))
    dense = list(arch.dense)
    dense[at] = min(max(dense[at] + rng.choice(_STEPS) * rng.choice((-1, 1)), 1), MAX_UNITS)
    return replace(arch, dense=tuple(dense))


MORPHISMS: dict[str, Morphism] = {
    "add_block": add_block,
    "remove_block": remove_block,
    "add_layer": add_layer,
    "remove_layer": remove_layer,
    "flip_parallel": flip_parallel,
    "toggle_batch_norm": _toggle("batch_norm"),
    "toggle_relu": _toggle("relu"),
    "toggle_pre_pool": _toggle("pre_pool"),
    "toggle_stride": toggle_stride,
    "change_layer_type": change_layer_type,
    "change_filters": change_filters,
    "change_kernel": change_kernel,
    "toggle_pooling": toggle_pooling,
    "toggle_global_pooling": toggle_global_pooling,
    "change_pool_size": change_pool_size,
    "change_pool_type": change_pool_type,
    "add_dense": add_dense,
    "remove_dense": remove_dense,
    "change_units": change_units,
}


def mutate(arch: Architecture, rng: random.Random | int, attempts: int = 100) -> Architecture:
    """A valid architecture one morphism away from `arch` (canonical form)."""
    if not isinstance(rng, random.Random):
        rng = random.Random(rng)
    start = canonical(arch)
    names = sorted(MORPHISMS)
    for _ in range(attempts):
        child = MORPHISMS[rng.choice(names)](start, rng)
        if child is None:
            continue
        child = canonical(child)
        if child != start and not problems(child):
            return child
    return start
