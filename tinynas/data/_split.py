"""Seeded, stratified splits and subsets of labelled arrays.

Every split keeps each class's share: a class holding 10 % of the samples holds 10 % of each
part (to the nearest sample; the largest-remainder rule makes the part sizes exact).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tinynas.data._errors import DatasetError


@dataclass(frozen=True, eq=False)
class Samples:
    """Inputs and their labels; unpacks as ``x, y = samples``."""

    x: np.ndarray  # (N, *input_shape)
    y: np.ndarray  # (N,) int64 class indices

    def __len__(self) -> int:
        return len(self.y)

    def __iter__(self) -> Iterator[np.ndarray]:
        yield self.x
        yield self.y


def stratified_take(y: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``count`` samples of ``y`` drawn at random, each class in proportion.

    Args:
        y: Class labels, shape (N,).
        count: How many indices to draw, 0..N.
        rng: The random generator that chooses the samples and their order.

    Returns:
        ``count`` distinct indices into ``y``, shuffled.
    """
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    quota = counts * (count / len(y))
    take = np.floor(quota).astype(np.int64)
    short = count - int(take.sum())  # largest remainder: hand out the rounded-off samples
    take[np.argsort(-(quota - take), kind="stable")[:short]] += 1
    picked = [
        rng.permutation(np.flatnonzero(inverse == k))[: take[k]] for k in range(len(classes))
    ]
    return rng.permutation(np.concatenate(picked))


def split(x: np.ndarray, y: np.ndarray, fraction: float, seed: int = 0) -> tuple[Samples, Samples]:
    """Split labelled arrays in two, stratified by class and reproducible from ``seed``.

    Args:
        x: Inputs, shape (N, ...).
        y: Class labels, shape (N,).
        fraction: Share of the samples that go to the second part, strictly between 0 and 1.
        seed: Seed of the random choice; the same seed gives the same split.

    Returns:
        ``(rest, held_out)``: the remaining samples and the ``round(fraction * N)`` held out,
        each in shuffled order.

    Raises:
        DatasetError: When ``fraction`` is not in (0, 1) or leaves one part empty.
    """
    if not 0.0 < fraction < 1.0:
        raise DatasetError(f"split fraction {fraction} is not between 0 and 1; pass e.g. 0.2")
    count = round(fraction * len(y))
    if count == 0 or count == len(y):
        raise DatasetError(
            f"cannot hold out {fraction:.0%} of {len(y)} samples: one part would be empty; "
            "add samples or change the fraction"
        )
    rng = np.random.default_rng(seed)
    held_out = stratified_take(y, count, rng)
    rest = rng.permutation(np.setdiff1d(np.arange(len(y)), held_out))
    return Samples(x[rest], y[rest]), Samples(x[held_out], y[held_out])
