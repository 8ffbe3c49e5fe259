"""Seeded sampling and the μNAS morphisms: determinism, validity, canonical form."""

from __future__ import annotations

import random

import pytest

from tinynas.space import (
    MORPHISMS,
    Architecture,
    SpaceConfig,
    canonical,
    lower,
    mutate,
    problems,
    sample,
)

SHAPES = [(28, 28, 1), (32, 32, 3), (49, 10, 1), (640,), (64, 3)]


def test_sample_is_deterministic_per_seed() -> None:
    for shape in SHAPES:
        for seed in range(10):
            a = sample(shape, 10, seed)
            assert sample(shape, 10, seed) == a
            assert sample(shape, 10, random.Random(seed)) == a
            assert a.content_hash == sample(shape, 10, seed).content_hash


def test_sample_differs_across_seeds() -> None:
    hashes = {sample((28, 28, 1), 10, seed).content_hash for seed in range(50)}
    assert len(hashes) == 50


def test_sample_uses_the_shape_and_class_count() -> None:
    a = sample((49, 10, 1), 12, 3)
    assert a.input_shape == (49, 10, 1) and a.num_classes == 12


def test_sample_advances_a_shared_rng() -> None:
    rng = random.Random(0)
    first, second = sample((28, 28, 1), 10, rng), sample((28, 28, 1), 10, rng)
    assert first != second
    assert first == sample((28, 28, 1), 10, 0)


def test_two_hundred_samples_are_valid_and_canonical() -> None:
    for k in range(200):
        shape = SHAPES[k % len(SHAPES)]
        arch = sample(shape, 10, k)
        assert problems(arch, input_shape=shape) == []
        assert canonical(arch) == arch
        assert lower(arch)[-1].shape == (10,)
        assert not arch.blocks or not arch.blocks[0].parallel


def test_sample_respects_the_config() -> None:
    config = SpaceConfig(max_blocks=4, max_layers=2, max_filters=24, min_dense=0, max_dense=1,
                         min_units=10, max_units=20, p_pooling=0.0)
    block_counts, dense_counts = set(), set()
    for seed in range(100):
        arch = sample((28, 28, 1), 10, seed, config)
        block_counts.add(len(arch.blocks))
        dense_counts.add(len(arch.dense))
        assert arch.pooling is None
        assert all(1 <= len(b.layers) <= 2 for b in arch.blocks)
        for b in arch.blocks:
            for layer in b.layers:
                assert layer.filters <= 24
                assert layer.kernel_size in ((1,) if layer.type == "1x1conv2d" else (3, 5, 7))
        assert all(10 <= u <= 20 for u in arch.dense)
    assert block_counts == {1, 2, 3, 4}
    assert dense_counts == {0, 1}


def _samples() -> list[Architecture]:
    shapes = [(28, 28, 1), (640,), (64, 3)]
    return [sample(shapes[k % 3], 10, k) for k in range(50)]


@pytest.mark.parametrize("name", sorted(MORPHISMS))
def test_every_morphism_gives_none_or_a_valid_architecture(name: str) -> None:
    morph = MORPHISMS[name]
    applied = 0
    for k, arch in enumerate(_samples()):
        child = morph(arch, random.Random(k))
        if child is None:
            continue
        applied += 1
        assert isinstance(child, Architecture)
        assert child.input_shape == arch.input_shape and child.num_classes == arch.num_classes
        fixed = canonical(child)
        assert problems(fixed) == [], (name, fixed)
        lower(fixed)
    assert applied > 0, f"{name} never applied to 50 samples"


def test_structural_morphisms_change_what_they_say() -> None:
    for k, arch in enumerate(_samples()):
        rng = random.Random(k)
        grown = MORPHISMS["add_block"](arch, rng)
        if grown is not None:
            assert len(grown.blocks) == len(arch.blocks) + 1
        shrunk = MORPHISMS["remove_block"](arch, rng)
        if shrunk is not None:
            assert len(shrunk.blocks) == len(arch.blocks) - 1
            assert not shrunk.blocks[0].parallel
        dense = MORPHISMS["add_dense"](arch, rng)
        if dense is not None:
            assert len(dense.dense) == len(arch.dense) + 1
        units = MORPHISMS["change_units"](arch, rng)
        if units is not None:
            changed = [(a, b) for a, b in zip(units.dense, arch.dense) if a != b]
            assert len(units.dense) == len(arch.dense) and len(changed) <= 1
            for new, old in changed:  # a step of 1, 3 or 5, clamped to [1, 256]
                assert abs(new - old) in (1, 3, 5) or new in (1, 256)
        pooled = MORPHISMS["toggle_pooling"](arch, rng)
        assert (pooled.pooling is None) != (arch.pooling is None)


def test_morphisms_do_not_apply_where_they_cannot() -> None:
    one = sample((28, 28, 1), 10, 0, SpaceConfig(max_blocks=1))
    one = Architecture(one.input_shape, 10, one.blocks[:1], None, ())
    rng = random.Random(0)
    assert MORPHISMS["remove_block"](one, rng) is None
    assert MORPHISMS["flip_parallel"](one, rng) is None
    assert MORPHISMS["change_pool_size"](one, rng) is None
    assert MORPHISMS["change_pool_type"](one, rng) is None
    assert MORPHISMS["remove_dense"](one, rng) is None
    assert MORPHISMS["change_units"](one, rng) is None


def test_mutate_changes_the_architecture_and_keeps_it_valid() -> None:
    for k, arch in enumerate(_samples()):
        child = mutate(arch, k)
        assert child != arch
        assert child.content_hash != arch.content_hash
        assert problems(child) == []
        assert canonical(child) == child
        assert mutate(arch, k) == child  # deterministic per seed


def test_a_chain_of_300_mutations_stays_valid() -> None:
    rng = random.Random(1234)
    arch = sample((28, 28, 1), 10, 0)
    seen = {arch.content_hash}
    for _ in range(300):
        child = mutate(arch, rng)
        assert child != arch
        assert problems(child, input_shape=(28, 28, 1)) == []
        assert canonical(child) == child
        lower(child)
        seen.add(child.content_hash)
        arch = child
    assert len(seen) > 100  # the walk goes somewhere
