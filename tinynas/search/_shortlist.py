"""The shortlist: the best-scored candidates, one per family.

Evolution spends most of its candidates near its best finds, so the top of the score order is
mostly one network with a kernel size or a width changed. Training several of those spends the
training budget on one bet. A family is an architecture with its widths, kernel sizes and
pooling size left out (`family`): the shortlist takes the best-scored candidate of each family
first, and only when the families run out does it fill up with the next best of any family.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinynas.space import Architecture
from tinynas.store import CandidateRecord


def family(arch: Architecture) -> tuple[Any, ...]:
    """The topology of `arch`: per block, parallel or serial and each layer's type, stride and
    pre-pooling; the pooling type; the number of hidden dense layers."""
    blocks = tuple(
        (b.parallel, tuple((l.type, l.stride, l.pre_pool) for l in b.layers))
        for b in arch.blocks
    )
    pooling = arch.pooling.type if arch.pooling is not None else None
    return arch.input_shape, blocks, pooling, len(arch.dense)


def diverse_shortlist(records: Sequence[CandidateRecord], metric: str,
                      k: int) -> list[CandidateRecord]:
    """Up to `k` of `records` (all scored by `metric`): the best of each family in score
    order, then the best of the rest."""
    ranked = sorted(records, key=lambda r: -r.scores[metric])
    seen: set[tuple[Any, ...]] = set()
    firsts, rest = [], []
    for record in ranked:
        key = family(record.architecture)
        (rest if key in seen else firsts).append(record)
        seen.add(key)
    return (firsts + rest)[:k]
