"""Sampling until candidates fit: the one loop behind ``arch sample --device``, the proxy
validation's architectures and the capacity picks."""

from __future__ import annotations

import random
from collections.abc import Callable

from tinynas.devices import Device
from tinynas.estimators import Budget, Estimate, estimate
from tinynas.space import Architecture


def sample_fitting(
    draw: Callable[[random.Random], Architecture],
    rng: random.Random,
    device: Device | None,
    budget: Budget,
    *,
    tries: int,
    count: int | None = None,
) -> list[tuple[Architecture, Estimate]]:
    """The distinct architectures that `draw(rng)` gives within `tries` draws and that fit
    `budget`, in the order drawn, with their estimates for `device`; at most `count` of them
    (all when None). The same arguments give the same list, and a larger `count` extends a
    smaller one."""
    found: list[tuple[Architecture, Estimate]] = []
    seen: set[str] = set()
    for _ in range(tries):
        arch = draw(rng)
        if arch.content_hash in seen:
            continue
        seen.add(arch.content_hash)
        est = estimate(arch, device)
        if not budget.violations(est):
            found.append((arch, est))
            if len(found) == count:
                break
    return found
