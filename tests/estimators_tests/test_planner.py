"""TFLM's greedy memory planner on hand-made lifetimes."""

from __future__ import annotations

import random

import pytest

from tinynas.estimators import Buffer, align_up, plan


def test_empty_plan() -> None:
    assert plan([]) == ([], 0)


def test_disjoint_lifetimes_share_offset_zero() -> None:
    offsets, size = plan([Buffer(64, 0, 1), Buffer(32, 2, 3)])
    assert offsets == [0, 0]
    assert size == 64


def test_lifetimes_touching_at_one_scope_overlap() -> None:
    # both alive at scope 1: the first is read there, the second created there
    offsets, size = plan([Buffer(64, 0, 1), Buffer(32, 1, 2)])
    assert offsets == [0, 64]
    assert size == 96


def test_overlapping_lifetimes_stack() -> None:
    offsets, size = plan([Buffer(64, 0, 2), Buffer(32, 1, 3), Buffer(16, 2, 2)])
    assert offsets == [0, 64, 96]
    assert size == 112


def test_the_largest_buffer_is_placed_first() -> None:
    offsets, size = plan([Buffer(16, 0, 1), Buffer(48, 0, 1), Buffer(64, 0, 1)])
    assert offsets == [112, 64, 0]
    assert size == 128


def test_equal_sizes_place_the_later_buffer_first() -> None:
    # TFLM fills its sort array from the tail and sorts stably: index 1 comes before index 0
    offsets, size = plan([Buffer(32, 0, 1), Buffer(32, 0, 1)])
    assert offsets == [32, 0]
    assert size == 64
    offsets, _ = plan([Buffer(32, 0, 1), Buffer(32, 0, 1), Buffer(32, 0, 1)])
    assert offsets == [64, 32, 0]


def test_a_gap_between_two_buffers_is_reused_by_a_small_one() -> None:
    # X (64, scope 0) at 0; Y (48, 0-5) above it at 64; Z (32, 1-5) goes to 0, where X is dead;
    # W (16, 1-5) does not fit below Z but fits in the 32-byte gap between Z's end and Y
    buffers = [Buffer(64, 0, 0), Buffer(48, 0, 5), Buffer(32, 1, 5), Buffer(16, 1, 5)]
    offsets, size = plan(buffers)
    assert offsets == [0, 64, 0, 32]
    assert size == 112


def test_a_gap_too_small_is_skipped() -> None:
    # Z is 40 bytes and W 32: the gap between Z's end (40) and Y (64) is 24 bytes, too small
    buffers = [Buffer(64, 0, 0), Buffer(48, 0, 5), Buffer(40, 1, 5), Buffer(32, 1, 5)]
    offsets, size = plan(buffers)
    assert offsets == [0, 64, 0, 112]
    assert size == 144


def test_no_two_live_buffers_overlap_in_memory() -> None:
    rng = random.Random(0)
    for _ in range(50):
        buffers = []
        for _ in range(rng.randint(1, 12)):
            first = rng.randint(0, 8)
            buffers.append(Buffer(align_up(rng.randint(1, 300)), first, first + rng.randint(0, 4)))
        offsets, size = plan(buffers)
        assert size == max(o + b.size_bytes for o, b in zip(offsets, buffers))
        for i, a in enumerate(buffers):
            for j, b in enumerate(buffers[:i]):
                alive_together = not (a.first_use > b.last_use or b.first_use > a.last_use)
                apart = (offsets[i] + a.size_bytes <= offsets[j]
                         or offsets[j] + b.size_bytes <= offsets[i])
                assert apart or not alive_together, (buffers, offsets)


@pytest.mark.parametrize(
    "n, expected", [(0, 0), (1, 16), (15, 16), (16, 16), (17, 32), (300, 304)]
)
def test_align_up(n: int, expected: int) -> None:
    assert align_up(n) == expected


def test_align_up_with_another_alignment() -> None:
    assert align_up(5, 8) == 8
    assert align_up(8, 8) == 8
