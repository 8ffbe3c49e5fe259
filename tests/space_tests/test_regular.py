"""The regular design space: determinism, validity, and the shape rules it promises."""

from __future__ import annotations

import random

from tinynas.space import SpaceConfig, canonical, lower, problems, sample_regular

SHAPES = [(28, 28, 1), (32, 32, 3), (49, 10, 1), (640,), (64, 3)]


def _block_widths(arch) -> list[int]:
    widths, current = [], arch.input_shape[-1]
    for block in arch.blocks:
        for layer in block.layers:
            current = layer.filters or current
        widths.append(current)
    return widths


def test_sample_regular_is_deterministic_and_varied() -> None:
    for shape in SHAPES:
        assert sample_regular(shape, 10, 3) == sample_regular(shape, 10, random.Random(3))
    hashes = {sample_regular((28, 28, 1), 10, seed).content_hash for seed in range(50)}
    assert len(hashes) == 50


def test_regular_samples_are_valid_canonical_and_lower() -> None:
    for k in range(200):
        shape = SHAPES[k % len(SHAPES)]
        arch = sample_regular(shape, 7, k)
        assert problems(arch, shape) == [], (k, problems(arch))
        assert canonical(arch) == arch
        assert lower(arch)[-1].shape == (7,)


def test_regular_samples_follow_the_design_rules() -> None:
    for seed in range(300):
        arch = sample_regular((28, 28, 1), 10, seed)
        assert 2 <= len(arch.blocks) <= 4
        assert not any(b.parallel for b in arch.blocks)
        layers = [l for b in arch.blocks for l in b.layers]
        assert all(l.batch_norm and l.relu for l in layers)
        kinds = {l.type for l in layers}
        assert kinds == {"conv2d"} or {"dwconv2d", "1x1conv2d"} <= kinds
        widths = _block_widths(arch)
        assert widths == sorted(widths), (seed, widths)  # widths never shrink with depth
        for block in arch.blocks[1:]:  # every later stage starts by halving the resolution
            first = block.layers[0]
            assert first.stride == 2 or first.pre_pool, (seed, block)
        assert arch.pooling is None or arch.pooling.type == "avg"
        assert len(arch.dense) == 1 and arch.dense[0] >= min(256, widths[-1])


def test_regular_samples_keep_within_the_config() -> None:
    config = SpaceConfig(max_blocks=2, max_layers=1, max_filters=12, min_dense=0, max_dense=0)
    for seed in range(100):
        arch = sample_regular((28, 28, 1), 10, seed, config)
        assert len(arch.blocks) == 2 and all(len(b.layers) == 1 for b in arch.blocks)
        assert all(l.type == "conv2d" and l.filters <= 12 for b in arch.blocks for l in b.layers)
        assert arch.dense == ()
