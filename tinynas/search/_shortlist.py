"""The shortlist: the best-scored candidates, one per family.

Evolution spends most of its candidates near its best finds, so the top of the score order is
mostly one network with a kernel size or a width changed. Training several of those spends the
training budget on one bet. A family is an architecture with its widths, kernel sizes and
pooling size left out (`family`): the shortlist takes the best-scored candidate of each family
first, and only when the families run out does it fill up with the next best of any family.

Capacity picks: a ranker fitted on, or validated with, short trainings favours networks that
learn fast, and those plateau early; after a long training accuracy grows with compute under
the memory limits (MCUNet, Lin et al. 2020: more MACs under the same cap, more accuracy). So
some slots may go to the candidates with the most MACs, one per family, among those the metric
scores at least at its median (MACs alone would also pick bottlenecked networks, such as 7x7
kernels feeding a 2-channel layer, that every ranker scores low). Successive halving then
decides between the two kinds by training.
"""

from __future__ import annotations

import statistics
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


def _one_per_family_first(ranked: Sequence[CandidateRecord]) -> list[CandidateRecord]:
    """`ranked` reordered: the first of each family in order, then the others in order."""
    seen: set[tuple[Any, ...]] = set()
    firsts, rest = [], []
    for record in ranked:
        key = family(record.architecture)
        (rest if key in seen else firsts).append(record)
        seen.add(key)
    return firsts + rest


def diverse_shortlist(records: Sequence[CandidateRecord], metric: str, k: int,
                      capacity: int = 0) -> list[CandidateRecord]:
    """Up to `k` of `records` (all scored by `metric`): `k - capacity` by score (the best of
    each family, then the best of the rest), then `capacity` capacity picks (the most MACs,
    one per family first, among those scored at least at the median); slots that capacity
    picks cannot fill go to the next by score."""
    if not 0 <= capacity <= k:
        raise ValueError(f"capacity picks must be 0..{k}, got {capacity}")
    by_score = _one_per_family_first(sorted(records, key=lambda r: -r.scores[metric]))
    chosen = by_score[: k - capacity]
    if capacity and records:
        floor = statistics.median(r.scores[metric] for r in records)
        ids = {r.id for r in chosen}
        big = sorted((r for r in records if r.scores[metric] >= floor and r.id not in ids),
                     key=lambda r: (-r.estimates["macs"], -r.scores[metric]))  # fmt: skip
        chosen += _one_per_family_first(big)[:capacity]
        ids = {r.id for r in chosen}
        chosen += [r for r in by_score if r.id not in ids][: k - len(chosen)]
    return chosen
