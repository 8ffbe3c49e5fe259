"""The Pareto front (every objective minimised): hand cases, then a brute-force reference."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from tinynas.search import pareto_front


def brute_force_front(points: Sequence[Sequence[float]]) -> list[int]:
    """O(n^2): i is on the front when no point dominates it and no earlier point equals it."""
    def dominates(q: Sequence[float], p: Sequence[float]) -> bool:
        return all(a <= b for a, b in zip(q, p)) and any(a < b for a, b in zip(q, p))

    return [i for i, p in enumerate(points)
            if not any(dominates(q, p) for q in points)
            and not any(tuple(points[j]) == tuple(p) for j in range(i))]  # fmt: skip


@pytest.mark.parametrize(
    ("points", "front"),
    [
        ([], []),
        ([(3.0, 1.0)], [0]),
        ([(1, 1), (2, 2)], [0]),  # dominated in both objectives
        ([(2, 2), (1, 1)], [1]),
        ([(1, 3), (2, 2), (3, 1)], [0, 1, 2]),  # a trade-off: all on the front
        ([(1, 3), (2, 3)], [0]),  # a tie in one objective, worse in the other
        ([(2, 3), (1, 3), (1, 4)], [1]),
        ([(1, 2), (1, 2), (0, 5)], [0, 2]),  # duplicates: the first of them stands for both
        ([(5, 5), (1, 2), (1, 2), (1, 2)], [1]),
        ([(-0.9, 3.0, 100, 900), (-0.8, 2.0, 100, 900), (-0.9, 3.0, 90, 900)], [1, 2]),
        ([(-0.5, 1, 1, 1), (-0.5, 1, 1, 2), (-0.5, 1, 2, 1), (-0.4, 0, 1, 1)], [0, 3]),
    ],
)
def test_hand_cases(points: list[tuple[float, ...]], front: list[int]) -> None:
    assert pareto_front(points) == front
    assert brute_force_front(points) == front


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_the_brute_force_reference_on_300_random_points(seed: int) -> None:
    rng = random.Random(seed)
    # few distinct values per objective, so that ties and duplicates are common
    points = [tuple(float(rng.randint(0, 6)) for _ in range(4)) for _ in range(300)]
    front = pareto_front(points)
    assert front == brute_force_front(points)
    assert len(set(points)) < len(points) and 1 < len(front) < len(points)


def test_the_front_is_ascending_and_unchanged_by_reordering() -> None:
    rng = random.Random(7)
    points = [(-rng.random(), rng.random(), rng.randint(1, 9), rng.randint(1, 9))
              for _ in range(300)]  # fmt: skip
    front = pareto_front(points)
    assert front == sorted(front) and front == brute_force_front(points)
    order = list(range(len(points)))
    rng.shuffle(order)
    shuffled = pareto_front([points[i] for i in order])
    assert sorted(order[k] for k in shuffled) == front
