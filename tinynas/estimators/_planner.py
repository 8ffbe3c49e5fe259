"""TFLM's greedy memory planner, restated in Python.

Follows tensorflow/lite/micro/memory_planner/greedy_memory_planner.cc: buffers are sorted by
size, largest first; the planner fills its sort array from the tail and sorts it stably, so of
two buffers of equal size the one added later (higher tensor index) is placed first. Each
is placed at the lowest offset where it overlaps no already-placed buffer that is alive at the
same time. The arena head is the highest end offset. Sizes are rounded up to TFLM's 16-byte
buffer alignment (MicroArenaBufferAlignment) before planning.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

ALIGNMENT_BYTES = 16


def align_up(n: int, alignment: int = ALIGNMENT_BYTES) -> int:
    return (n + alignment - 1) // alignment * alignment


class Buffer(NamedTuple):
    size_bytes: int
    first_use: int  # op index that creates it (0 for model inputs)
    last_use: int  # last op index that reads it


def plan(buffers: list[Buffer]) -> tuple[list[int], int]:
    """Offsets of each buffer (in the given order) and the planned size in bytes."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size_bytes, -i))
    offsets = [0] * len(buffers)
    placed: list[tuple[int, int]] = []  # (offset, buffer index), kept sorted by offset
    for i in order:
        size, first, last = buffers[i]
        candidate = 0
        for offset, j in placed:
            other_size, other_first, other_last = buffers[j]
            if other_first > last or first > other_last:
                continue  # not alive at the same time
            if offset - candidate >= size:
                break  # the gap before this buffer is large enough
            candidate = max(candidate, offset + other_size)
        offsets[i] = candidate
        # ties in offset may sort by index: the scan's result does not depend on their order
        bisect.insort(placed, (candidate, i))
    size = max((offsets[i] + b.size_bytes for i, b in enumerate(buffers)), default=0)
    return offsets, size
