"""The Pareto front of candidates: score up, latency, RAM and flash down."""

from __future__ import annotations

from collections.abc import Sequence


def _dominates(q: Sequence[float], p: Sequence[float]) -> bool:
    return all(a <= b for a, b in zip(q, p)) and any(a < b for a, b in zip(q, p))


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices (ascending) of the points no other point dominates. Every objective is
    minimised: pass (-score, latency_ms, arena_bytes, flash_bytes). Of equal points only the
    first (lowest index) is on the front, standing for all of them.

    Points are visited in lexicographic order, so a point can only be dominated by one visited
    before it, and if by any, then by one already on the front (dominance is transitive)."""
    front: list[int] = []
    for i in sorted(range(len(points)), key=lambda k: tuple(points[k])):
        p = points[i]
        if not any(_dominates(points[j], p) or tuple(points[j]) == tuple(p) for j in front):
            front.append(i)
    return sorted(front)
