"""The shortlist: the best-scored candidates, one per family.

Evolution spends most of its candidates near its best finds, so the top of the score order is
mostly one network with a kernel size or a width changed. Training several of those spends the
training budget on one bet. A family is an architecture with its widths, kernel sizes and
pooling size left out (`family`): the shortlist takes the best-scored candidate of each family
first, and only when the families run out does it fill up with the next best of any family.
The shortlist's other kind of member, the capacity picks, is chosen in `_capacity.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from tinynas.space import Architecture

T = TypeVar("T")


class Scored(Protocol):
    """A scored candidate as the shortlist sees it (`tinynas.store.CandidateRecord` is one)."""

    @property
    def id(self) -> int: ...

    @property
    def architecture(self) -> Architecture: ...

    @property
    def scores(self) -> Mapping[str, float]: ...


S = TypeVar("S", bound=Scored)


def family(arch: Architecture) -> tuple[Any, ...]:
    """The topology of `arch`: per block, parallel or serial and each layer's type, stride and
    pre-pooling; the pooling type; the number of hidden dense layers."""
    blocks = tuple(
        (b.parallel, tuple((l.type, l.stride, l.pre_pool) for l in b.layers))
        for b in arch.blocks
    )
    pooling = arch.pooling.type if arch.pooling is not None else None
    return arch.input_shape, blocks, pooling, len(arch.dense)


def one_per_family_first(ranked: Sequence[T], arch_of: Callable[[T], Architecture]) -> list[T]:
    """`ranked` reordered: the first of each family in order, then the others in order."""
    seen: set[tuple[Any, ...]] = set()
    firsts: list[T] = []
    rest: list[T] = []
    for item in ranked:
        key = family(arch_of(item))
        (rest if key in seen else firsts).append(item)
        seen.add(key)
    return firsts + rest


def diverse_shortlist(records: Sequence[S], metric: str, k: int,
                      exclude: Sequence[int] = ()) -> list[S]:
    """Up to `k` of `records` (all scored by `metric`), the best of each family first, then
    the best of the rest; the ids in `exclude` (already shortlisted) are passed over. Equal
    scores (the learned ranker gives near-twins the same one) go to the older candidate, so
    a resumed run, whose records come back in another order, shortlists the same ones."""
    skip = set(exclude)
    ranked = sorted((r for r in records if r.id not in skip),
                    key=lambda r: (-r.scores[metric], r.id))
    return one_per_family_first(ranked, lambda r: r.architecture)[:k]
